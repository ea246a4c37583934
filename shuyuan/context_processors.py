"""Template context shared by every page."""

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
    return {"unread_notices": _Lazy(lambda: unread_count(patron=user))}


class _Lazy:
    def __init__(self, compute):
        self._compute, self._value = compute, None

    def _get(self) -> int:
        if self._value is None:
            self._value = self._compute()
        return self._value

    def __int__(self) -> int:
        return self._get()

    def __bool__(self) -> bool:
        return self._get() > 0

    def __str__(self) -> str:
        return str(self._get())
