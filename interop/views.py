"""``/sru`` and ``/oai``: anonymous, read-only, rate-limited per client address.

Both answer XML.  Over the rate (``INTEROP_RATE`` requests a minute per address, an IPv6 client by its /64),
``/oai`` answers 503 with Retry-After, as OAI-PMH prescribes for flow control (harvesters such as sickle wait
and retry), and ``/sru`` 429 with Retry-After and an SRU diagnostic 2 (system temporarily unavailable).
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from core import ratelimit
from core.net import client_ip, client_network
from interop import oai, sru

XML = "text/xml; charset=utf-8"
WINDOW_SECONDS = 60


def _wait(request: HttpRequest) -> int:
    """Seconds the client must wait; 0 when this request is allowed (and counted)."""
    if not settings.INTEROP_RATE:
        return 0
    who = client_network(client_ip(request)) or "unknown"
    return ratelimit.hit(f"interop:ip:{who}", ratelimit.Limit(settings.INTEROP_RATE, WINDOW_SECONDS))


def _args(query) -> dict[str, list[str]]:
    return {name: query.getlist(name) for name in query}


@require_http_methods(["GET"])
def sru_view(request: HttpRequest) -> HttpResponse:
    wait = _wait(request)
    if wait:
        response = HttpResponse(sru.throttled(wait), content_type=XML, status=429)
        response["Retry-After"] = str(wait)
        return response
    return HttpResponse(sru.handle(_args(request.GET)), content_type=XML)


@csrf_exempt  # OAI-PMH allows POST (form-encoded arguments); nothing here writes or reads a session
@require_http_methods(["GET", "POST"])
def oai_view(request: HttpRequest) -> HttpResponse:
    wait = _wait(request)
    if wait:
        response = HttpResponse(b"", content_type=XML, status=503)
        response["Retry-After"] = str(wait)
        return response
    args = _args(request.POST if request.method == "POST" else request.GET)
    return HttpResponse(oai.handle(args, settings.SITE_URL + "/oai"), content_type=XML)
