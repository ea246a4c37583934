"""``/sru`` and ``/oai``: anonymous, read-only, rate-limited per client address; ``/opendata`` explains them.

Both answer XML, to GET and to POST with form-encoded arguments (their protocols' POST bindings).  Over the rate (``INTEROP_RATE`` requests a minute per address, an IPv6 client by its /64),
``/oai`` answers 503 with Retry-After, as OAI-PMH prescribes for flow control (harvesters such as sickle wait
and retry), and ``/sru`` 429 with Retry-After and an SRU diagnostic 2 (system temporarily unavailable).
"""

from datetime import timedelta
from urllib.parse import quote, urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from core import ratelimit
from core.net import client_ip, client_network
from interop import catalogue, oai, sru

XML = "text/xml; charset=utf-8"
WINDOW_SECONDS = 60
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
RELATION_ORDER = ["=", "==", "adj", "all", "any", "<", ">", "<=", ">=", "<>"]


def _wait(request: HttpRequest, cost: int = 1) -> int:
    """Seconds the client must wait; 0 when this request is allowed (and counted as ``cost`` requests).  SRU and
    OAI-PMH only read the public catalogue: while the rate-limit store does not answer they go on unlimited, as
    searches do (core/ratelimit.py), rather than leave the city library's harvester with 503s."""
    if not settings.INTEROP_RATE:
        return 0
    who = client_network(client_ip(request)) or "unknown"
    return ratelimit.hit(f"interop:ip:{who}", ratelimit.Limit(settings.INTEROP_RATE, WINDOW_SECONDS), cost=cost,
                         fail_open=True)


def _args(query) -> dict[str, list[str]]:
    return {name: query.getlist(name) for name in query}


def _request_args(request: HttpRequest) -> dict[str, list[str]] | None:
    """The protocol's arguments: a GET's query string, a POST's form body (SRU 1.2's and OAI-PMH 2.0's POST
    binding: application/x-www-form-urlencoded; multipart form data is read the same).  None for a POST whose
    body is anything else (an SRW SOAP envelope, JSON): answered 415."""
    if request.method != "POST":
        return _args(request.GET)
    has_body = request.META.get("CONTENT_LENGTH") not in (None, "", "0")
    if has_body and request.content_type not in FORM_TYPES:
        return None
    return _args(request.POST)


def _unsupported_media(body: bytes) -> HttpResponse:
    response = HttpResponse(body, content_type=XML, status=415)
    response["Accept-Post"] = "application/x-www-form-urlencoded"
    return response


# Both are read-only and answer the same to everyone: no session, no user, no cookie is read or set, so a POST
# changes nothing and needs no CSRF token (a form on another site gains nothing by posting here).
@csrf_exempt
@require_http_methods(["GET", "POST"])
def sru_view(request: HttpRequest) -> HttpResponse:
    wait = _wait(request)
    if wait:
        response = HttpResponse(sru.throttled(wait), content_type=XML, status=429)
        response["Retry-After"] = str(wait)
        return response
    args = _request_args(request)
    if args is None:
        return _unsupported_media(sru.unsupported_media(request.content_type))
    try:
        # A query of several searches counts as that many requests (the first was counted above).
        body = sru.handle(args, charge=lambda searches: _wait(request, cost=searches))
    except sru.Throttled as over:
        response = HttpResponse(sru.throttled(over.seconds), content_type=XML, status=429)
        response["Retry-After"] = str(over.seconds)
        return response
    return HttpResponse(body, content_type=XML)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def oai_view(request: HttpRequest) -> HttpResponse:
    wait = _wait(request)
    if wait:
        response = HttpResponse(b"", content_type=XML, status=503)
        response["Retry-After"] = str(wait)
        return response
    base_url = settings.SITE_URL + "/oai"
    args = _request_args(request)
    if args is None:
        return _unsupported_media(oai.unsupported_media(request.content_type, base_url))
    return HttpResponse(oai.handle(args, base_url), content_type=XML)


# --- the page for people ------------------------------------------------------------------------------------


def _url(base: str, **params: str) -> tuple[str, str]:
    """(the address to follow, the same as a person reads it: unencoded)."""
    return f"{base}?{urlencode(params, quote_via=quote)}", f"{base}?" + "&".join(f"{k}={v}" for k, v in params.items())


@require_safe
def opendata_page(request: HttpRequest) -> HttpResponse:
    """``/opendata``: what /sru and /oai are, for the people of another library who connect their systems —
    example requests, the CQL indexes, record schemas, sets and limits, from the same tables the servers use."""
    sru_url, oai_url = f"{settings.SITE_URL}/sru", f"{settings.SITE_URL}/oai"
    indexes = []
    for context_set, name, title in catalogue.EXPLAINED_INDEXES:
        full = f"{context_set}.{name}"
        what = catalogue.INDEXES[full.lower()]
        relations = catalogue.DATE_RELATIONS if what == "date" else catalogue.TEXT_RELATIONS
        indexes.append({"name": full, "title": title, "relations": " ".join(sorted(relations, key=RELATION_ORDER.index)),
                        "sortable": full.lower() in catalogue.SORT_INDEXES})
    # Examples that find something here: the first book and the first ISBN of the catalogue, when there are.
    books = catalogue.public_books().order_by("pk")
    sample = oai.identifier("book", books.values_list("pk", flat=True).first() or 1)
    isbn = books.exclude(isbn="").values_list("isbn", flat=True).first() or "9787301048153"
    month_ago = (timezone.now() - timedelta(days=30)).strftime("%Y-%m-%d")  # OAI-PMH datestamps are UTC
    context = {
        "sru_url": sru_url,
        "oai_url": oai_url,
        "sru_examples": [
            (_("说明（explain）：本接口的检索点、记录格式与限额"), *_url(sru_url, operation="explain", version="1.2")),
            (_("按 ISBN 检索，MARCXML（含馆藏）"),
             *_url(sru_url, operation="searchRetrieve", version="1.2", query=f"bath.isbn = {isbn}")),
            (_("按题名检索，Dublin Core"),
             *_url(sru_url, operation="searchRetrieve", version="1.2", query="dc.title = 民法典", recordSchema="dc")),
            (_("布尔组合，按出版年从新到旧，每页 20 条"),
             *_url(sru_url, operation="searchRetrieve", version="1.2",
                  query="(dc.subject = 民法 or dc.title = 物权) and dc.date >= 2020", sortKeys="dc.date,,0",
                  maximumRecords="20")),
        ],
        "oai_examples": [
            (_("库的说明（Identify）"), *_url(oai_url, verb="Identify")),
            (_("集合列表（ListSets）"), *_url(oai_url, verb="ListSets")),
            (_("收割全部图书，Dublin Core"), *_url(oai_url, verb="ListRecords", metadataPrefix="oai_dc", set="book")),
            (_("最近 30 天改动过的记录，MARCXML"),
             *_url(oai_url, verb="ListRecords", metadataPrefix="marcxml", **{"from": month_ago})),
            (_("取一条记录（GetRecord）"), *_url(oai_url, verb="GetRecord", metadataPrefix="oai_dc", identifier=sample)),
        ],
        "indexes": indexes,
        "schemas": sru.SCHEMA_INFO,
        "sets": oai.sets(),
        "formats": [(prefix, schema, namespace) for prefix, (schema, namespace) in oai.FORMATS.items()],
        "sample_identifier": sample,
        "repository_identifier": oai.repository_id(),
        "admin_email": settings.OAI_ADMIN_EMAIL,
        "default_records": settings.SRU_DEFAULT_RECORDS,
        "max_records": settings.SRU_MAX_RECORDS,
        "page_size": settings.OAI_PAGE_SIZE,
        "token_hours": settings.OAI_TOKEN_SECONDS // 3600,
        "rate": settings.INTEROP_RATE,
    }
    return render(request, "interop/opendata.html", context)
