"""Check-in codes: a reader's personal code (shown on /me as a QR code, scanned by the organizer) and an
occurrence's code (shown on the attendees page, scanned by the reader's phone).

Both are signed with the site's key (``django.core.signing``, each with its own salt), so nobody can make
one for another person or another event.  A personal code names the reader and the generation of their
code (``CheckInCode``): a new generation makes the old QR code worthless.  An occurrence's code names the
event, the occurrence and the day it is valid on: it checks nobody in on another day.
"""

from datetime import UTC, date, datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError
from events.models import CheckInCode, Event

PERSONAL_SALT = "events.check-in.personal"
OCCURRENCE_SALT = "events.check-in.occurrence"
#: What a personal code starts with: a scan of anything else (a book's barcode) is told apart at once.
PERSONAL_PREFIX = "SYIN"


def _bad_code() -> DomainError:
    return DomainError("bad_code", _("签到码无效（不是本馆的签到码，或已更换）"), status=422)


def _generation(user_id: int) -> int:
    return CheckInCode.objects.filter(user_id=user_id).values_list("generation", flat=True).first() or 0


def personal_code(user: AbstractBaseUser) -> str:
    """The reader's current personal check-in code (what their QR code holds)."""
    return signing.Signer(salt=PERSONAL_SALT).sign(f"{PERSONAL_PREFIX}.{user.pk}.{_generation(user.pk)}")


@transaction.atomic
def personal_code_rotate(*, user: AbstractBaseUser) -> str:
    """A new personal code; every earlier one stops working."""
    code, created = CheckInCode.objects.get_or_create(user=user, defaults={"generation": 1})
    if not created:
        CheckInCode.objects.filter(pk=code.pk).update(generation=F("generation") + 1, rotated_at=timezone.now())
    return personal_code(user)


def personal_code_user(code: str) -> AbstractBaseUser:
    """The active reader a personal code names; ``bad_code`` for a forged, mangled or replaced code."""
    text = (code or "").strip()
    if len(text) > 200:
        raise _bad_code()
    try:
        prefix, user_id, generation = signing.Signer(salt=PERSONAL_SALT).unsign(text).split(".")
        user_id, generation = int(user_id), int(generation)
    except (signing.BadSignature, ValueError):
        raise _bad_code() from None
    if prefix != PERSONAL_PREFIX or generation != _generation(user_id):
        raise _bad_code()
    user = get_user_model().objects.filter(pk=user_id, is_active=True).select_related("profile").first()
    if user is None:
        raise _bad_code()
    return user


def occurrence_code(event: Event, occurrence: datetime | None, day: date) -> str:
    """The code of one occurrence (``occurrence``: its recurrence id; None for a single event), valid on ``day``."""
    stamp = int(occurrence.timestamp()) if occurrence is not None else 0
    return signing.Signer(salt=OCCURRENCE_SALT).sign(f"{event.pk}.{stamp}.{day:%Y%m%d}")


def occurrence_code_read(code: str, *, event_id: int, now: datetime | None = None) -> datetime | None:
    """The occurrence (recurrence id; None for a single event) a code of ``event_id`` names.  ``bad_code`` for
    a forged code or one of another event; ``code_expired`` when it is not for today (library time)."""
    text = (code or "").strip()
    if len(text) > 200:
        raise _bad_code()
    try:
        event_part, stamp, day = signing.Signer(salt=OCCURRENCE_SALT).unsign(text).split(".")
    except (signing.BadSignature, ValueError):
        raise _bad_code() from None
    if int(event_part) != event_id:
        raise _bad_code()
    today = timezone.localdate(now or timezone.now())
    if day != f"{today:%Y%m%d}":
        raise DomainError("code_expired", _("这个签到码已过期（只在当天有效），请扫描现场新的签到码"), status=422)
    return datetime.fromtimestamp(int(stamp), tz=UTC) if int(stamp) else None
