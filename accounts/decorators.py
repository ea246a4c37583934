"""View decorators for the web pages: who may open a page."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from accounts.selectors import user_has_role


def role_required(*roles: str):
    """Log in first (a redirect to the login page), then 403 unless the user holds one of ``roles``
    (a superuser holds every role)."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not user_has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(wrapper)

    return decorate
