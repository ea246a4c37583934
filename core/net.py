"""Who a request comes from, as far as the network says."""

import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or the entry TRUSTED_PROXY_COUNT proxies back in X-Forwarded-For."""
    address = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if len(forwarded) >= hops:
            address = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def client_network(address: str | None) -> str | None:
    """Whom a per-client limit counts: an IPv4 address, or the first address of an IPv6 address's /64
    network (one household or host usually holds a whole /64: counting single IPv6 addresses would give
    it 2**64 allowances).  An IPv4-mapped address counts as its IPv4 address; None stays None."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return str(ip)
