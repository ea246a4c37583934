"""Template context shared by every page."""

from django.utils.functional import SimpleLazyObject

from accounts.selectors import user_roles
from notices.selectors import unread_count


def roles(request) -> dict:
    """``user_roles``: the role names of the viewer, so menus match the views' role checks."""
    user = getattr(request, "user", None)
    return {"user_roles": user_roles(user) if user is not None else set()}


def notices(request) -> dict:
    """``unread_notices``: how many of the viewer's notices are unread (shown beside 通知 in the header); read
    only when a template asks for it (one indexed COUNT)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notices": 0}
    # Counted only if the page shows it (SimpleLazyObject proxies bool() and str()).
    return {"unread_notices": SimpleLazyObject(lambda: unread_count(patron=user))}
