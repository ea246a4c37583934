"""Library cards (读者证) as an A4 PDF: ten cards of the bank-card size (85.6 × 54 mm) a page, each with the
library's name, the reader's name and division, and the card number as a Code 128 barcode (the desk scans
it: ``selectors.find_readers`` finds a reader by card number)."""

from collections.abc import Sequence
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from django.utils.translation import gettext as _

from core.errors import InvalidInput
from core.pdf import Grid, Sheet, mm

CARD = Grid(columns=2, rows=5, width=85.6 * mm, height=54 * mm, gap=2 * mm)
PAD = 4 * mm


class PrintedCards(NamedTuple):
    pdf: bytes
    readers: list[AbstractBaseUser]


def card_name(user: AbstractBaseUser) -> str:
    profile = getattr(user, "profile", None)
    return (profile.display_name if profile else "") or user.get_full_name() or user.get_username()


def card_readers(*, identifiers: Sequence[str] = (), division: str = "") -> list[AbstractBaseUser]:
    """Active users by username or card number (in the order given; InvalidInput ``readers`` names any not
    found), or every active user of ``division`` who has a card number, by name."""
    users = get_user_model().objects.filter(is_active=True).select_related("profile")
    if identifiers:
        wanted = list(dict.fromkeys(i.strip() for i in identifiers if i.strip()))
        limit = settings.CARDS_MAX_PER_REQUEST
        if len(wanted) > limit:  # checked before any query: one request named 5,300 readers, a query each
            raise InvalidInput("readers", _("一次最多打印 %(limit)d 张读者证，收到 %(n)d 个读者")
                               % {"limit": limit, "n": len(wanted)}, code="too_many_cards")
        # One query for all of them (a card number may be typed in lower case).
        keys = set(wanted) | {w.upper() for w in wanted}
        rows = list(users.filter(Q(username__in=keys) | Q(profile__card_number__in=keys)))
        by_key = {}
        for user in rows:
            card = getattr(getattr(user, "profile", None), "card_number", None)
            if card:
                by_key.setdefault(card, user)
        for user in rows:
            by_key[user.get_username()] = user  # a username wins over someone else's card number
        found, missing = [], []
        for identifier in wanted:
            user = by_key.get(identifier) or by_key.get(identifier.upper())
            (found if user is not None else missing).append(user or identifier)
        if missing:
            raise InvalidInput("readers", _("没有这些读者：%(names)s") % {"names": "、".join(missing[:20])},
                               code="unknown_readers")
        return list(dict.fromkeys(found))
    if division:
        return list(users.filter(profile__division=division).exclude(profile__card_number="")
                    .order_by("profile__display_name", "username"))
    return []


def cards_print(*, readers: Sequence[AbstractBaseUser], field: str = "readers") -> PrintedCards:
    """The PDF of the library cards of ``readers``.  InvalidInput naming ``field``: no readers, readers
    without a card number (given one in the admin first), more than ``CARDS_MAX_PER_REQUEST``."""
    if not readers:
        raise InvalidInput(field, _("没有要打印读者证的读者"), code="no_readers")
    limit = settings.CARDS_MAX_PER_REQUEST
    if len(readers) > limit:
        raise InvalidInput(field, _("一次最多打印 %(limit)d 张读者证，所选 %(n)d 位读者") % {"limit": limit, "n": len(readers)},
                           code="too_many_cards")
    without = [card_name(u) for u in readers if not getattr(getattr(u, "profile", None), "card_number", "")]
    if without:
        raise InvalidInput(field, _("这些读者还没有读者证号：%(names)s") % {"names": "、".join(without[:20])},
                           code="no_card_number")
    library = settings.LIBRARY_NAME
    sheet = Sheet(title=_("%(library)s 读者证") % {"library": library}, author=library)
    width = CARD.width - 2 * PAD
    for user, (x, y) in zip(readers, sheet.cells(CARD, len(readers)), strict=True):
        profile = user.profile
        top = y + CARD.height - PAD
        sheet.text(library, x=x + PAD, y=top - 14, width=width * 0.7, size=14, align="left")
        sheet.text(_("读者证"), x=x + PAD + width * 0.7, y=top - 14, width=width * 0.3, size=11, align="right")
        sheet.text(card_name(user), x=x + PAD, y=top - 42, width=width, size=16, align="left")
        if profile.division:
            sheet.text(profile.division, x=x + PAD, y=top - 58, width=width, size=10, align="left")
        sheet.code128(profile.card_number, x=x + PAD, y=y + 8 * mm, width=width, height=11 * mm)
        sheet.text(profile.card_number, x=x + PAD, y=y + 3.5 * mm, width=width, size=9, font="Helvetica")
    return PrintedCards(pdf=sheet.pdf(), readers=list(readers))
