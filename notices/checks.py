"""System checks of the notice channels' configuration: a wrong dotted path or robot host list stops the
process at start-up instead of failing each notice later."""

import re

from django.conf import settings
from django.core.checks import Error, register
from django.utils.module_loading import import_string

from notices.channels import Channel

#: A channel's name is stored in preferences and deliveries (NoticeDelivery.channel holds 16 characters).
NAME = re.compile(r"[a-z][a-z0-9_]{0,15}")
#: A host name or address as NOTICE_WEBHOOK_HOSTS lists it (no scheme, port or path), or "*".
HOST = re.compile(r"\*|[a-z0-9]([a-z0-9\-.]*[a-z0-9])?|\[?[0-9a-f:.]+\]?")


@register()
def check_notice_channels(app_configs, **kwargs):
    errors = []
    for name, path in settings.NOTICE_CHANNELS.items():
        if not NAME.fullmatch(name):
            errors.append(Error(f"Notice channel name {name!r} must be 1-16 lower-case letters, digits or _.",
                                id="notices.E001"))
        try:
            backend = import_string(path)
        except ImportError as exc:
            errors.append(Error(f"Notice channel {name!r}: {path} cannot be imported ({exc}).", id="notices.E002"))
            continue
        if not (isinstance(backend, type) and issubclass(backend, Channel)):
            errors.append(Error(f"Notice channel {name!r}: {path} is not a notices.channels.Channel.",
                                id="notices.E003"))
    bad = [host for host in settings.NOTICE_WEBHOOK_HOSTS if not HOST.fullmatch(host)]
    if bad:
        errors.append(Error(f"NOTICE_WEBHOOK_HOSTS lists {', '.join(bad)}: give host names only (no scheme, port "
                            "or path), or * for any public host.", id="notices.E004"))
    return errors
