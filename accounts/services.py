"""Writes for users, roles, tokens and login throttling."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import AbstractBaseUser, Group, Permission, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiToken, CalendarLink, FailedLogin, Profile, Role, hash_token
from core import ratelimit
from core.errors import DomainError, InvalidInput
from core.net import client_network
from core.text import HIDDEN_MESSAGE, has_hidden_characters

# Model permissions each role gets in the admin: every permission of an app ("library"), or one
# permission ("jobs.view_job").  Librarians keep the catalog and the dictionary of law names searches expand,
# and watch the background jobs (imports, extraction, index rebuilds); organizers keep events.
ROLE_ADMIN_APPS: dict[str, tuple[str, ...]] = {
    Role.JUDGE: (),
    Role.LIBRARIAN: ("library", "notices.view_notice", "notices.change_notice", "notices.view_noticedelivery",
                     "notices.view_noticepreference", "jobs.view_job", "jobs.change_job", "jobs.view_workerbeat",
                     "search_index.view_lawname", "search_index.add_lawname", "search_index.change_lawname",
                     "search_index.delete_lawname"),
    Role.ORGANIZER: ("events",),
    # Leadership reads reports on the site; nothing in the admin.
    Role.MANAGER: (),
}
STAFF_ROLES = {Role.LIBRARIAN, Role.ORGANIZER}
# PostgreSQL advisory-lock key for login bookkeeping ("fgsy" as an integer).
LOGIN_LOCK_KEY = 0x66677379


def roles_ensure(*, using: str = "default") -> None:
    """Create the role groups and give them their admin permissions (idempotent)."""
    for role, apps in ROLE_ADMIN_APPS.items():
        group, _created = Group.objects.using(using).get_or_create(name=role.value)
        whole = [name for name in apps if "." not in name]
        single = [name.split(".") for name in apps if "." in name]
        query = Q(content_type__app_label__in=whole)
        for app_label, codename in single:
            query |= Q(content_type__app_label=app_label, codename=codename)
        if apps:
            group.permissions.add(*Permission.objects.using(using).filter(query))


@transaction.atomic
def user_upsert(
    *,
    username: str,
    roles: list[str] | None = None,
    password: str | None = None,
    display_name: str | None = None,
    division: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    card_number: str | None = None,
    validate: bool = True,
) -> tuple[User, bool]:
    """Create or update a user with the given roles and profile; returns (user, created).

    Roles given replace the user's current roles.  Raises ValidationError for
    an unknown role, a bad username or e-mail, or (when ``validate``) a weak password.
    """
    roles = list(dict.fromkeys(roles or []))
    unknown = [r for r in roles if r not in Role.values]
    if unknown:
        raise ValidationError({"role": _("未知角色 %(roles)s（可选：%(choices)s）") % {
            "roles": ", ".join(unknown), "choices": ", ".join(Role.values)}})
    user = User.objects.filter(username=username).first()
    created = user is None
    if created:
        user = User(username=username)
    if email is not None:
        user.email = email
    if password is not None:
        if validate:
            validate_password(password, user)
        user.set_password(password)
    elif created:
        user.set_unusable_password()
    if roles:
        user.is_staff = user.is_superuser or any(r in STAFF_ROLES for r in roles)
    user.full_clean(exclude=["password"])
    user.save()
    if roles:
        roles_ensure()
        user.groups.set(Group.objects.filter(name__in=roles))
    profile, _created = Profile.objects.get_or_create(user=user)
    for field, value in (("display_name", display_name), ("division", division), ("phone", phone),
                         ("card_number", card_number.strip().upper() if card_number else card_number)):
        if value is not None:
            setattr(profile, field, value)
    profile.full_clean()
    profile.save()
    return user, created


@transaction.atomic
def contact_update(*, user: AbstractBaseUser, email: str, phone: str) -> None:
    """A reader's own e-mail and phone (the contact settings on /me)."""
    user.email = email.strip()
    user.full_clean(exclude=["password"])
    user.save(update_fields=["email"])
    profile, _created = Profile.objects.get_or_create(user=user)
    profile.phone = phone.strip()
    profile.full_clean()
    profile.save(update_fields=["phone"])


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    raw: str


@transaction.atomic
def token_issue(*, user: AbstractBaseUser, name: str = "") -> IssuedToken:
    """Create an API token; the raw value is returned once and never stored.  A person holds at most
    ``API_TOKENS_PER_USER`` live tokens: a new one revokes the least recently used beyond that (a script
    logging in in a loop left one row per login)."""
    lookup = secrets.token_hex(6)
    raw = f"{ApiToken.PREFIX}_{lookup}_{secrets.token_urlsafe(32)}"
    token = ApiToken(user=user, name=name[:64], lookup=lookup, key_hash=hash_token(raw))
    token.full_clean()
    token.save()
    live = ApiToken.objects.filter(user=user, revoked_at__isnull=True).exclude(pk=token.pk)
    oldest = live.order_by(F("last_used_at").desc(nulls_last=True), "-created_at", "-id").values_list("pk", flat=True)
    surplus = list(oldest[settings.API_TOKENS_PER_USER - 1:])
    if surplus:
        ApiToken.objects.filter(pk__in=surplus).update(revoked_at=timezone.now())
    return IssuedToken(token=token, raw=raw)


def token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def token_authenticate(*, raw: str) -> User | None:
    """The active user a raw token belongs to, or None.  Records the time of use."""
    # The secret part is URL-safe base64 and may itself contain "_".
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != ApiToken.PREFIX:
        return None
    token = ApiToken.objects.select_related("user").filter(lookup=parts[1], revoked_at__isnull=True).first()
    if token is None or not token.matches(raw) or not token.user.is_active:
        return None
    now = timezone.now()
    # Writing on every request would serialize readers on SQLite; once a minute is enough.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def _retry_after(*, username: str, ip: str | None) -> int:
    """Seconds until another attempt is allowed for this username or address; 0 if allowed now."""
    window = timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    now = timezone.now()
    waits = []
    checks = [({"username": username}, settings.LOGIN_MAX_FAILURES)]
    if ip:
        checks.append(({"ip": ip}, settings.LOGIN_MAX_FAILURES_PER_ADDRESS))
    for filters, limit in checks:
        recent = list(
            FailedLogin.objects.filter(at__gte=now - window, **filters).order_by("-at").values_list("at", flat=True)[:limit]
        )
        if len(recent) >= limit:
            waits.append(int((recent[-1] + window - now).total_seconds()) + 1)
    return max(waits, default=0)


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    retry_after: int = 0


def login_with_password(*, username: str, password: str, ip: str | None) -> LoginResult:
    """Check a password under the login throttle.

    The attempt is counted *before* the password is checked, in one short
    transaction with the count, so parallel guesses cannot all slip under the
    limit.  A successful login clears the username's attempts.  Every attempt,
    successful or not, also counts against ``LOGIN_ATTEMPTS_PER_USERNAME`` and
    ``LOGIN_ATTEMPTS_PER_ADDRESS`` in the window: a password check costs a
    worker about half a second, and the twelfth attack slowed every page with
    logins that all succeeded.  An IPv6 client is counted by its /64 network.
    """
    ip = client_network(ip)
    window = settings.LOGIN_LOCKOUT_SECONDS
    for key, limit in ((f"login:user:{username[:150].lower()}", settings.LOGIN_ATTEMPTS_PER_USERNAME),
                       (f"login:net:{ip or 'unknown'}", settings.LOGIN_ATTEMPTS_PER_ADDRESS)):
        wait = ratelimit.hit(key, ratelimit.Limit(limit, window, buckets=15))
        if wait:
            return LoginResult(user=None, retry_after=wait)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Serializes the count-then-insert of concurrent attempts (SQLite's
            # IMMEDIATE transactions already do).
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOGIN_LOCK_KEY])
        wait = _retry_after(username=username, ip=ip)
        if wait:
            return LoginResult(user=None, retry_after=wait)
        FailedLogin.objects.create(username=username[:150], ip=ip)
    user = authenticate(username=username, password=password)
    if user is None:
        failed_logins_prune()
        return LoginResult(user=None)
    FailedLogin.objects.filter(username=username).delete()
    return LoginResult(user=user)


def failed_logins_prune() -> int:
    """Delete failure rows older than the lockout window; returns how many."""
    since = timezone.now() - timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    deleted, _by_model = FailedLogin.objects.filter(at__lt=since).delete()
    return deleted


# --- calendar links ----------------------------------------------------------------------------------------

#: The name of the link the deprecated ``POST /api/v1/me/calendar-token`` replaces, and of links carried over
#: from the single calendar token of before.
LEGACY_LINK_NAME = "日历订阅"


def _links_locked(user: AbstractBaseUser) -> None:
    """Serialise the link writes of one person (count-then-insert under the cap).  SQLite's IMMEDIATE
    transactions already do; on PostgreSQL the person's user row is locked."""
    if connection.vendor != "sqlite":
        User.objects.select_for_update().filter(pk=user.pk).exists()


def _check_link_name(name: str) -> None:
    """A link's name is how its owner tells links apart: nothing hidden in it (a bidi override made
    "手机" of another name; attack round 17)."""
    if has_hidden_characters(name):
        raise InvalidInput("name", _("名称%(rule)s") % {"rule": HIDDEN_MESSAGE}, code="hidden_characters")


def _link_new(*, user: AbstractBaseUser, name: str, scope: str) -> CalendarLink:
    _check_link_name(name)
    if CalendarLink.objects.filter(user=user).count() >= settings.CALENDAR_LINKS_PER_USER:
        raise DomainError("too_many_links", _("日历订阅链接已达 %(n)d 个上限，请先删除不用的链接。")
                          % {"n": settings.CALENDAR_LINKS_PER_USER})
    link = CalendarLink(user=user, name=name.strip(), scope=scope, lookup=secrets.token_hex(8))
    link.full_clean()
    link.save()
    return link


@transaction.atomic
def calendar_link_create(*, user: AbstractBaseUser, name: str, scope: str = CalendarLink.Scope.MINE) -> CalendarLink:
    """A new named link to the person's feed; refused (409 ``too_many_links``) past CALENDAR_LINKS_PER_USER.
    The caller counts it against the hourly allowance (``core.throttles.hourly_allowance``)."""
    _links_locked(user)
    return _link_new(user=user, name=name, scope=scope)


@transaction.atomic
def calendar_link_update(*, link: CalendarLink, name: str | None = None, scope: str | None = None) -> CalendarLink:
    """Rename a link or change what its feed holds; its URL stays the same."""
    fields = []
    if name is not None:
        _check_link_name(name)
        link.name = name.strip()
        fields.append("name")
    if scope is not None:
        link.scope = scope
        fields.append("scope")
    if fields:
        link.full_clean()
        link.save(update_fields=fields)
    return link


def calendar_link_revoke(*, link: CalendarLink) -> None:
    """The link's URL stops working at once: its row is gone, and nothing else can verify it."""
    CalendarLink.objects.filter(pk=link.pk).delete()


@transaction.atomic
def calendar_token_rotate(*, user: AbstractBaseUser) -> str:
    """Deprecated (``POST /api/v1/me/calendar-token``): replace the person's link named 日历订阅 — the one this
    call made before, or the token carried over from before several links — with a new one; returns its token.
    Other named links are untouched."""
    _links_locked(user)
    CalendarLink.objects.filter(user=user, name=LEGACY_LINK_NAME).delete()
    return _link_new(user=user, name=LEGACY_LINK_NAME, scope=CalendarLink.Scope.MINE).token()


def calendar_link_for_token(raw: str) -> CalendarLink | None:
    """The link a feed token belongs to (``user`` loaded), or None: unknown, revoked, malformed, forged, or
    its owner inactive.  Records the fetch time, at most every CALENDAR_LINK_TOUCH_SECONDS per link."""
    # The secret is URL-safe base64 and may itself contain "_": split twice only.
    parts = (raw or "").split("_", 2)
    if len(parts) != 3 or parts[0] != CalendarLink.PREFIX or not parts[1] or not parts[2]:
        return None
    link = CalendarLink.objects.select_related("user").filter(lookup=parts[1]).first()
    if link is None or not link.matches(raw) or not link.user.is_active:
        return None
    now = timezone.now()
    # A calendar app polls every few minutes on every device: a write per fetch would serialise readers on
    # SQLite for a time nobody needs to the second.  The conditional update keeps parallel fetches to one write.
    stale = now - timedelta(seconds=settings.CALENDAR_LINK_TOUCH_SECONDS)
    if link.last_fetched_at is None or link.last_fetched_at < stale:
        CalendarLink.objects.filter(pk=link.pk).filter(
            Q(last_fetched_at__isnull=True) | Q(last_fetched_at__lt=stale)).update(last_fetched_at=now)
        link.last_fetched_at = now
    return link


def calendar_token_user(raw: str):
    """The active user a calendar token belongs to, or None (see ``calendar_link_for_token``)."""
    link = calendar_link_for_token(raw)
    return link.user if link is not None else None
