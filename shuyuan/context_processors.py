"""Template context shared by every page."""

from accounts.selectors import user_roles


def roles(request) -> dict:
    """``user_roles``: the role names of the viewer, so menus match the views' role checks."""
    user = getattr(request, "user", None)
    return {"user_roles": user_roles(user) if user is not None else set()}
