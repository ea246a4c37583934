"""Who a request comes from, as far as the network says; and where the server may send a request of its own
(``post_json``: a URL someone typed must not reach the court's internal network)."""

import http.client
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urljoin, urlsplit

from django.conf import settings
from django.utils.translation import gettext as _


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


# --- requests going out ------------------------------------------------------------------------------------


class OutboundRefused(ValueError):
    """A URL the server will not call: not http(s), credentials in it, a host not allowed, or a host that
    resolves inside the network.  ``code`` says which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address lies on the public internet: not loopback, private, link-local (cloud metadata at
    169.254.169.254), shared (100.64/10), reserved or multicast; an IPv4-mapped IPv6 address by its IPv4."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None and not is_public(ip.sixtofour):
            return False
        elif ip in _NAT64 or ip in _IPV4_COMPATIBLE:
            # 64:ff9b::7f00:1 reaches 127.0.0.1 through a NAT64 gateway; ::127.0.0.1 is the deprecated
            # IPv4-compatible form (attack round 16): judge them by the IPv4 address inside.
            return is_public(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return ip.is_global and not ip.is_multicast


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv4Address | ipaddress.IPv6Address):
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64, IPv4-compatible), else ``ip``."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def is_never_called(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Addresses the server never sends a request to, whoever asks and whatever is trusted: link-local
    (169.254.0.0/16 with the cloud metadata service at 169.254.169.254, fe80::/10), unspecified (0.0.0.0,
    ::, which reach this machine) and multicast; an IPv6 form of an IPv4 address by that address."""
    for candidate in {ip, _embedded_ipv4(ip)}:
        if candidate.is_link_local or candidate.is_unspecified or candidate.is_multicast:
            return True
        if isinstance(candidate, ipaddress.IPv4Address) and candidate in _THIS_NETWORK:
            return True  # 0.0.0.0/8: "this network", reaches this machine on Linux
    return False


_THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")
#: How long the list of this machine's own addresses is kept (seconds): interfaces rarely change.
OWN_ADDRESSES_TTL = 60.0
_own_cache: tuple[float, frozenset] = (0.0, frozenset())


def _proc_addresses() -> set[str]:
    """The local addresses Linux lists for this machine (its network namespace): IPv4 "host LOCAL" routes of
    /proc/net/fib_trie and the IPv6 addresses of /proc/net/if_inet6; nothing elsewhere."""
    found: set[str] = set()
    try:
        with open("/proc/net/fib_trie", encoding="ascii", errors="replace") as trie:
            last = ""
            for line in trie:
                text = line.strip()
                if text.startswith("|--"):
                    last = text[3:].strip()
                elif text.startswith("/32 host LOCAL") and last:
                    found.add(last)
    except OSError:
        pass
    try:
        with open("/proc/net/if_inet6", encoding="ascii", errors="replace") as inet6:
            for line in inet6:
                raw = line.split()[0] if line.split() else ""
                if len(raw) == 32:
                    found.add(str(ipaddress.IPv6Address(int(raw, 16))))
    except (OSError, ValueError):
        pass
    return found


def own_addresses() -> frozenset:
    """This machine's own addresses (those of its interfaces, and those its host name resolves to), which
    reach the application itself or services listening beside it; kept for ``OWN_ADDRESSES_TTL`` seconds."""
    global _own_cache
    now = time.monotonic()
    if now - _own_cache[0] < OWN_ADDRESSES_TTL:
        return _own_cache[1]
    found = _proc_addresses()
    try:
        found.update(info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, type=socket.SOCK_STREAM))
    except OSError:
        pass
    addresses = set()
    for text in found:
        try:
            addresses.add(ipaddress.ip_address(text.split("%")[0]))
        except ValueError:
            continue
    _own_cache = (now, frozenset(addresses))
    return _own_cache[1]


def is_own(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether ``ip`` reaches this machine: loopback, or one of its own addresses (``own_addresses``)."""
    candidate = _embedded_ipv4(ip)
    return ip.is_loopback or candidate.is_loopback or ip in own_addresses() or candidate in own_addresses()


def endpoint(host: str, port: int) -> str:
    """``host:port`` as the allow-lists write it: the host lower-case without the root's dot, an IPv6 address
    in brackets (``[fd00::8]:8080``)."""
    host = host.lower().rstrip(".")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_endpoint(entry: str) -> str:
    """An allow-list entry ``host:port`` in ``endpoint``'s form; ``ValueError`` when it names no host or port."""
    parts = urlsplit("//" + entry.strip())
    if not parts.hostname or parts.port is None or parts.path or parts.query or parts.username is not None:
        raise ValueError(f"not host:port: {entry!r}")
    return endpoint(parts.hostname, parts.port)


def url_endpoint(parts: SplitResult) -> str:
    """The ``host:port`` a URL reaches (the scheme's port when it names none)."""
    return endpoint(parts.hostname or "", url_port(parts))


def url_port(parts: SplitResult) -> int:
    """The port a URL reaches: its own, else its scheme's."""
    return parts.port or (443 if parts.scheme == "https" else 80)


def _literal_ip(host: str):
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def outbound_url_check(url: str, *, allowed_hosts: Iterable[str]) -> SplitResult:
    """The parts of ``url`` if the server may call it, else ``OutboundRefused``.

    ``allowed_hosts`` names the hosts a URL may name (exactly, case-insensitive); ``"*"`` among them admits any
    other host too, but not an address literal inside the network (names are resolved and checked when the
    request is made, ``post_json``).  A link-local, multicast or unspecified address literal is refused even
    when listed (``is_never_called``).  No DNS lookup here: this runs in requests."""
    allowed = {h.lower() for h in allowed_hosts}
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is no number or out of range
    except ValueError:
        raise OutboundRefused("invalid", _("不是有效的地址")) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused("scheme", _("只能是 http:// 或 https:// 开头的地址"))
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused("credentials", _("地址中不能包含用户名或密码"))
    if any(ch.isspace() for ch in url.strip()):
        raise OutboundRefused("invalid", _("不是有效的地址"))
    host = parts.hostname.rstrip(".")
    ip = _literal_ip(host)
    if ip is not None and is_never_called(ip):
        raise OutboundRefused("never_called", _("地址不能指向链路本地、组播或未指定地址（如 169.254.169.254）"))
    if host in allowed:
        return parts
    if "*" not in allowed:
        raise OutboundRefused("host_not_allowed", _("不允许的主机 %(host)s（可用：%(hosts)s）") % {
            "host": host, "hosts": "、".join(sorted(allowed)) or "—"})
    if ip is not None and not is_public(ip):
        raise OutboundRefused("internal_address", _("地址不能指向内部网络"))
    return parts


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    body: bytes


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, not to whatever the name resolves to a moment later (a DNS
    answer that changes between the check and the connection would otherwise reach the internal network)."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.pinned_address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.pinned_address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As ``_PinnedHTTPConnection``, with TLS: the certificate is checked against the host's name."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.pinned_address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.pinned_address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def _resolve_checked(parts: SplitResult, *, trusted: bool) -> tuple[str, int, str]:
    """The host, port and the one address to connect to, looked up now (a name may resolve elsewhere than when
    the URL was saved).  Every address must be callable at all (``is_never_called``); an untrusted host's
    must also be public and not this machine's own (``is_own``)."""
    host = parts.hostname.rstrip(".")
    port = url_port(parts)
    addresses = [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
    if not addresses:
        raise OSError(f"no address for {host}")
    ips = [ipaddress.ip_address(a.split("%")[0]) for a in addresses]
    if any(is_never_called(ip) for ip in ips):
        raise OutboundRefused("never_called", _("地址不能指向链路本地、组播或未指定地址（如 169.254.169.254）"))
    if not trusted and not all(is_public(ip) and not is_own(ip) for ip in ips):
        raise OutboundRefused("internal_address", _("地址不能指向内部网络"))
    return host, port, addresses[0]


def post_json(url: str, payload, *, allowed_hosts: Iterable[str], timeout: float,
              max_response: int = 64 * 1024) -> OutboundResponse:
    """POST ``payload`` as JSON to ``url`` and return the answer's status and (at most ``max_response`` bytes
    of) body.  Redirects are never followed: a 3xx is returned as it is, so a server cannot send the request
    on to an internal address.

    A host of ``allowed_hosts`` is trusted wherever it resolves (a chat server on the court's network) but
    a link-local, multicast or unspecified address; any other host (with ``"*"``) only when every address it
    resolves to is public and not this machine's, and the connection goes to the address that was checked.  ``timeout`` bounds the connection and each read; the name lookup is the
    system resolver's.  Raises ``OutboundRefused`` for a URL it will not call, ``OSError`` (timeouts,
    refused connections, unknown names, TLS errors) and ``http.client.HTTPException`` for failures."""
    parts = outbound_url_check(url, allowed_hosts=allowed_hosts)
    trusted = parts.hostname.rstrip(".") in {h.lower() for h in allowed_hosts}
    host, port, address = _resolve_checked(parts, trusted=trusted)
    connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(host, port, address=address, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    body = json.dumps(payload, ensure_ascii=False).encode()
    try:
        connection.request("POST", target, body=body, headers={
            "Content-Type": "application/json; charset=utf-8", "User-Agent": "faguan-shuyuan"})
        response = connection.getresponse()
        return OutboundResponse(status=response.status, body=response.read(max_response))
    finally:
        connection.close()


class ResponseTooLarge(OSError):
    """An answer longer than the caller's cap: nothing of it is returned."""


#: Redirects ``get_limited`` follows (each one checked like the first URL).
MAX_REDIRECTS = 3


def _shut(connection: http.client.HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed


def get_limited(url: str, *, allowed_hosts: Iterable[str], trusted_endpoints: Iterable[str] = (),
                connect_timeout: float, read_timeout: float, max_response: int, deadline: float | None = None,
                headers: dict[str, str] | None = None) -> OutboundResponse:
    """GET ``url`` and return its status and body, read in pieces and refused past ``max_response`` bytes
    (``ResponseTooLarge``): a server cannot fill the memory of the process.

    Every URL (the first and each redirect, at most ``MAX_REDIRECTS``) passes ``outbound_url_check`` with
    ``allowed_hosts`` (plus the hosts of ``trusted_endpoints``): http or https only, no credentials.  A URL
    reaching one of ``trusted_endpoints`` (``host:port`` as ``endpoint`` writes it: a server put on the
    court's network on purpose) may resolve to a private or this machine's address; any other must resolve
    to public addresses only, never this machine's (a redirect from a trusted server to another port or
    another internal host is refused).  No URL may reach a link-local, multicast or unspecified address
    (``is_never_called``), trusted or not.  The connection goes to the address that was checked.
    ``connect_timeout`` bounds the connection, ``read_timeout`` each read; ``deadline`` (seconds, default
    connect + 2 × read) bounds the whole answer, so a server that drips one byte at a time cannot hold the
    request.  Raises ``OutboundRefused``, ``ResponseTooLarge``, ``OSError`` (timeouts — ``TimeoutError`` —,
    refused connections, names, TLS) and ``HTTPException``."""
    stop = time.monotonic() + (deadline if deadline is not None else connect_timeout + 2 * read_timeout)
    trusted_endpoints = {parse_endpoint(e) for e in trusted_endpoints}
    trusted_names = {urlsplit("//" + e).hostname for e in trusted_endpoints}
    allowed_hosts = {h.lower() for h in allowed_hosts} | trusted_names
    for _hop in range(MAX_REDIRECTS + 1):
        parts = outbound_url_check(url, allowed_hosts=allowed_hosts)
        trusted = url_endpoint(parts) in trusted_endpoints
        host, port, address = _resolve_checked(parts, trusted=trusted)
        connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
        connection = connection_class(host, port, address=address, timeout=connect_timeout)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # The deadline holds whatever the server drips (a header line every few seconds, a body byte by byte,
        # each within read_timeout): at the deadline the socket is shut, and the blocked read returns at once.
        watchdog = threading.Timer(max(0.0, stop - time.monotonic()), _shut, args=(connection,))
        watchdog.daemon = True
        watchdog.start()
        try:
            connection.connect()
            connection.sock.settimeout(read_timeout)
            connection.request("GET", target, headers={"User-Agent": "faguan-shuyuan", **(headers or {})})
            response = connection.getresponse()
            if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                url = urljoin(url, response.getheader("Location"))
                continue
            length = response.getheader("Content-Length")
            if length and length.isdigit() and int(length) > max_response:
                raise ResponseTooLarge(f"answer of {length} bytes, more than {max_response}")
            body = bytearray()
            while True:
                if time.monotonic() > stop:
                    raise TimeoutError("the answer took too long")
                piece = response.read1(64 * 1024) if hasattr(response, "read1") else response.read(64 * 1024)
                if not piece:
                    break
                body += piece
                if len(body) > max_response:
                    raise ResponseTooLarge(f"answer longer than {max_response} bytes")
            if time.monotonic() >= stop:
                raise TimeoutError("the answer took too long")  # cut short by the watchdog, not ended
            return OutboundResponse(status=response.status, body=bytes(body))
        except (OSError, http.client.HTTPException) as exc:
            if time.monotonic() >= stop and not isinstance(exc, TimeoutError):
                raise TimeoutError("the answer took too long") from exc
            raise
        finally:
            watchdog.cancel()
            connection.close()
    raise OutboundRefused("redirects", _("重定向次数过多"))
