"""Reads for users and roles."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from accounts.models import ApiToken, Role


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
