"""System checks of the outside interfaces' configuration."""

import ipaddress

from django.conf import settings
from django.core.checks import Warning, register


def is_local_address(address: str) -> bool:
    """True for an e-mail address nobody outside this machine can write to: no domain, ``localhost`` (or a
    name under it, ``localhost.localdomain``), a loopback address literal."""
    domain = address.rpartition("@")[2].strip().strip("[]").lower().rstrip(".")
    if "@" not in address or not domain:
        return True
    if domain in ("localhost", "localhost.localdomain") or domain.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(domain.removeprefix("ipv6:")).is_loopback
    except ValueError:
        return False


@register()
def check_oai_admin_email(app_configs, **kwargs):
    if settings.DEBUG or not is_local_address(settings.OAI_ADMIN_EMAIL):
        return []
    return [Warning(
        f"OAI_ADMIN_EMAIL is {settings.OAI_ADMIN_EMAIL!r} while DEBUG is off: OAI-PMH's Identify and SRU's "
        "explain give other libraries this contact address.",
        hint="Set OAI_ADMIN_EMAIL (or DEFAULT_FROM_EMAIL) to the library's real address, e.g. "
             "OAI_ADMIN_EMAIL=library@court.example",
        id="interop.W001",
    )]
