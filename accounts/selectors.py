"""Reads for users and roles."""

import functools

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q
from django.utils.translation import gettext

from accounts.models import ApiToken, CalendarLink, Role
from core.links import subscription_links


def user_roles(user: AbstractBaseUser | AnonymousUser) -> set[str]:
    """The role names a user holds; superusers hold them all.  Cached on the user object."""
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_shuyuan_roles", None)
    if cached is None:
        if user.is_superuser:
            cached = set(Role.values)
        else:
            cached = set(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
        user._shuyuan_roles = cached
    return cached


def user_has_role(user: AbstractBaseUser | AnonymousUser, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))


def token_list(*, user: AbstractBaseUser):
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def calendar_link_list(*, user: AbstractBaseUser):
    """A person's calendar links, oldest first (the order they were made in)."""
    return CalendarLink.objects.filter(user=user).order_by("created_at", "id")


def calendar_links(raw: str, *, name: str = "") -> dict[str, str]:
    """The subscription addresses of a calendar token: ``url`` (https), webcal://, Google Calendar's, Outlook's."""
    url = f"{settings.SITE_URL}/calendar/u/{raw}.ics"
    return {"url": url, **subscription_links(url, name=name or gettext("法官书苑 · 我的日程"))}


def calendar_link_addresses(link: CalendarLink) -> dict[str, str]:
    """``calendar_links`` of a link, or {} for a link carried over from before, whose token is not known."""
    return calendar_links(link.token(), name=link.name) if link.showable else {}


#: Readers a desk lookup lists at most (more: type more of the name).
READER_MATCHES = 10


@functools.lru_cache(maxsize=10_000)
def _name_pinyin(name: str) -> tuple[str, str]:
    """A Chinese name's pinyin, whole and initials: 张明 → ("zhangming", "zm")."""
    from pypinyin import Style, lazy_pinyin

    syllables = [s.lower() for s in lazy_pinyin(name, style=Style.NORMAL, errors="ignore")]
    return "".join(syllables), "".join(s[:1] for s in syllables)


def find_readers(text: str) -> list[AbstractBaseUser]:
    """Active users a librarian may mean by ``text``: the one whose username or library card number it is
    exactly; else those whose name contains it, whose name's pinyin (whole or initials) begins with it, or
    whose division contains it — at most ``READER_MATCHES``, by name."""
    text = " ".join(text.split())
    if not text:
        return []
    users = get_user_model().objects.filter(is_active=True).select_related("profile")
    exact = list(users.filter(Q(username=text) | Q(profile__card_number=text.upper()) | Q(profile__card_number=text)))
    if exact:
        return exact[:1]
    found = {u.pk: u for u in users.filter(Q(profile__display_name__icontains=text) | Q(profile__division__icontains=text))
             .order_by("profile__display_name", "username")[:READER_MATCHES]}
    key = text.replace(" ", "").lower()
    if key.isascii() and key.isalpha() and len(found) < READER_MATCHES:
        for user in users.exclude(profile__display_name="").order_by("profile__display_name", "username").iterator():
            whole, initials = _name_pinyin(user.profile.display_name)
            if user.pk not in found and (whole.startswith(key) or initials.startswith(key)):
                found[user.pk] = user
                if len(found) >= READER_MATCHES:
                    break
    return list(found.values())


def reader_label(user: AbstractBaseUser) -> str:
    """How the desk names a reader: 张明（民事审判庭 · judge1）, or the username alone."""
    profile = getattr(user, "profile", None)
    name = profile.display_name if profile else ""
    details = " · ".join(filter(None, [profile.division if profile else "", user.get_username()]))
    return gettext("%(name)s（%(details)s）") % {"name": name, "details": details} if name else user.get_username()
