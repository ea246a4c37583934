"""The SRU server (``GET`` or ``POST /sru``): explain and searchRetrieve, SRU 1.2 (default) and 2.0.

``version=2.0`` answers in the OASIS searchRetrieve namespaces (``recordXMLEscaping`` instead of 1.2's
``recordPacking``); 1.1 and 1.2 in the LoC ``zing/srw`` ones.  Every answer is XML with HTTP 200, a
diagnostic included (info:srw/diagnostic/1/…): a client's mistake is never a 500.  No parameters at all is an
explain, as most servers do; a query without ``operation`` is a searchRetrieve.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext, gettext_lazy, override
from lxml import etree

from interop import catalogue, hints, records
from interop.catalogue import Diagnostic
from interop.cqlquery import MAX_CLAUSES, MAX_QUERY_CHARS, CQLSyntaxError, SortKey, clauses, parse

NS = {
    "1.2": {"sru": "http://www.loc.gov/zing/srw/", "diag": "http://www.loc.gov/zing/srw/diagnostic/",
            "scan": "http://www.loc.gov/zing/srw/"},
    "2.0": {"sru": "http://docs.oasis-open.org/ns/search-ws/sruResponse",
            "diag": "http://docs.oasis-open.org/ns/search-ws/diagnostic",
            "scan": "http://docs.oasis-open.org/ns/search-ws/scan"},
}
ZEEREX_NS = "http://explain.z3950.org/dtd/2.0/"
VERSIONS = {"1.1": "1.2", "1.2": "1.2", "2.0": "2.0"}
#: The languages of explain's titles and descriptions: (BCP 47 tag in ``lang``, Django's language code).
EXPLAIN_LANGUAGES = (("zh-Hans", "zh-hans"), ("en", "en"))

MARCXML = "info:srw/schema/1/marcxml-v1.1"
DC = "info:srw/schema/1/dc-v1.1"
#: Record schema names and identifiers a client may ask for → the identifier.
SCHEMAS = {
    MARCXML: MARCXML, "marcxml": MARCXML, "marc21": MARCXML, "marc21xml": MARCXML, "marcxml-v1.1": MARCXML,
    "info:srw/schema/1/marcxml-v1.2": MARCXML,
    DC: DC, "dc": DC, "info:srw/schema/1/dc-schema": DC,
}
SCHEMA_INFO = [
    (MARCXML, "marcxml", "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd", "MARCXML (MARC 21 slim)"),
    (DC, "dc", "http://www.loc.gov/standards/sru/recordSchemas/dc-schema.xsd", "Dublin Core"),
]

PARAMETERS = {
    "1.2": {"operation", "version", "query", "startRecord", "maximumRecords", "recordPacking", "recordSchema",
            "recordXPath", "resultSetTTL", "sortKeys", "stylesheet", "extraRequestData"},
    "2.0": {"operation", "version", "query", "queryType", "startRecord", "maximumRecords", "recordXMLEscaping",
            "recordPacking", "recordSchema", "resultSetTTL", "sortKeys", "stylesheet", "httpAccept",
            "responseType", "renderedBy", "recordXPath", "extraRequestData"},
}

#: Standard messages of the diagnostics this server gives.
MESSAGES = {
    1: "General system error", 2: "System temporarily unavailable", 4: "Unsupported operation",
    5: "Unsupported version", 6: "Unsupported parameter value", 7: "Mandatory parameter not supplied",
    8: "Unsupported parameter", 10: "Query syntax error", 12: "Too many characters in query",
    15: "Unsupported context set", 16: "Unsupported index", 19: "Unsupported relation",
    20: "Unsupported relation modifier", 27: "Empty term unsupported", 28: "Masking character not supported",
    31: "Anchoring character not supported", 36: "Term in invalid format for index or relation",
    37: "Unsupported boolean operator", 38: "Too many boolean operators in query",
    46: "Unsupported boolean modifier", 61: "First record position out of range",
    66: "Unknown schema for retrieval", 71: "Unsupported record packing", 72: "XPath retrieval unsupported",
    82: "Unsupported sort sequence", 84: "Too many sort keys",
    110: "Stylesheets not supported",
}


@dataclass
class Request:
    version: str  # "1.2" or "2.0": the namespaces of the answer
    asked_version: str
    params: dict[str, str]
    #: Counts n more requests against the client's rate and answers the seconds to wait (0: go on); None where
    #: nothing is counted (a call from the code, not from a client).
    charge: Callable[[int], int] | None = None


class Throttled(Exception):
    """A query that would take the client over its rate (``INTEROP_RATE``): answered 429 by the view."""

    def __init__(self, seconds: int) -> None:
        super().__init__(seconds)
        self.seconds = seconds


def _q(version: str, name: str, ns: str = "sru") -> str:
    return f"{{{NS[version][ns]}}}{name}"


def _sub(parent, version: str, name: str, text: str | None = None, ns: str = "sru"):
    element = etree.SubElement(parent, _q(version, name, ns))
    if text is not None:
        element.text = text
    return element


def _diagnostics(parent, version: str, diagnostics: list[Diagnostic], ns: str = "sru") -> None:
    if not diagnostics:
        return
    box = _sub(parent, version, "diagnostics", ns=ns)
    for diagnostic in diagnostics:
        element = etree.SubElement(box, _q(version, "diagnostic", "diag"), nsmap={"diag": NS[version]["diag"]})
        etree.SubElement(element, _q(version, "uri", "diag")).text = f"info:srw/diagnostic/1/{diagnostic.code}"
        if diagnostic.details:
            etree.SubElement(element, _q(version, "details", "diag")).text = records.clean_text(diagnostic.details)
        message = MESSAGES.get(diagnostic.code, "")
        if diagnostic.message and diagnostic.message != diagnostic.details:
            message = f"{message}: {diagnostic.message}" if message else diagnostic.message
        if message:
            etree.SubElement(element, _q(version, "message", "diag")).text = records.clean_text(message)


def _document(version: str, name: str, ns: str = "sru"):
    prefix = "sru" if NS[version][ns] == NS[version]["sru"] else ns
    return etree.Element(_q(version, name, ns), nsmap={prefix: NS[version][ns]})


def _serialize(root) -> bytes:
    """The answer with the human hints before its root element: the stylesheet a browser renders it with
    and a comment naming the page that explains the interface (XML parsers skip both)."""
    hints.add(root, "interop/sru.xsl", "SRU")
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")


def handle(query: dict[str, list[str]], *, charge: Callable[[int], int] | None = None) -> bytes:
    """The XML answer to the request's query parameters (each name → its values).  ``charge`` counts the
    extra searches of a query against the client's rate (``Request.charge``); past it, ``Throttled``."""
    asked = (query.get("version") or ["1.2"])[0].strip() or "1.2"
    version = VERSIONS.get(asked)
    if version is None:
        return _failure("1.2", "explainResponse", Diagnostic(5, "2.0", f"version {asked}"))
    operation = (query.get("operation") or [""])[0]
    if not operation:
        operation = "searchRetrieve" if "query" in query else "explain"
    if operation not in ("explain", "searchRetrieve"):
        # Before the parameters are read: a scan comes with scanClause, responsePosition … which are its own
        # parameters, not unsupported ones (diagnostic 8) of an operation this server has.
        name = "scanResponse" if operation == "scan" else "searchRetrieveResponse"
        return _failure(version, name, Diagnostic(4, operation[:50], "only explain and searchRetrieve"))
    name = "explainResponse" if operation == "explain" else "searchRetrieveResponse"
    try:
        params = _single_values(query, version)
        request = Request(version=version, asked_version=asked, params=params, charge=charge)
        if operation == "explain":
            return explain(request)
        return search_retrieve(request)
    except Diagnostic as diagnostic:
        return _failure(version, name, diagnostic)


def _single_values(query: dict[str, list[str]], version: str) -> dict[str, str]:
    params = {}
    for name, values in query.items():
        if name.startswith("x-"):
            continue
        if name not in PARAMETERS[version]:
            raise Diagnostic(8, name, "unsupported parameter")
        if len(values) > 1:
            raise Diagnostic(6, name, "repeated parameter")
        params[name] = values[0]
    if "stylesheet" in params:
        raise Diagnostic(110, params["stylesheet"])
    if params.get("recordXPath"):
        raise Diagnostic(72, params["recordXPath"])
    if version == "2.0" and params.get("queryType", "cql") != "cql":
        raise Diagnostic(6, "queryType", "only cql")
    return params


def _failure(version: str, name: str, diagnostic: Diagnostic) -> bytes:
    ns = "scan" if name == "scanResponse" else "sru"  # SRU 2.0's scan has a namespace of its own
    root = _document(version, name, ns)
    _sub(root, version, "version", version, ns=ns)
    if name == "searchRetrieveResponse":
        _sub(root, version, "numberOfRecords", "0")
    _diagnostics(root, version, [diagnostic], ns=ns)
    return _serialize(root)


def unsupported_media(content_type: str) -> bytes:
    """The answer (sent with 415) to a POST whose body is not form data (SRU's POST binding is
    application/x-www-form-urlencoded; SRW's SOAP is not served): diagnostic 6 naming the Content-Type."""
    return _failure("1.2", "searchRetrieveResponse", Diagnostic(
        6, "Content-Type", f"POST takes application/x-www-form-urlencoded, not {content_type[:100]}"))


def throttled(seconds: int) -> bytes:
    """The answer to a client over its rate: diagnostic 2, system temporarily unavailable."""
    return _failure("1.2", "searchRetrieveResponse", Diagnostic(2, "", f"rate limit: retry after {seconds} s"))


# --- explain ----------------------------------------------------------------------------------------------


def _in_each_language(parent, tag: str, text) -> None:
    """One ``tag`` element per language of ``EXPLAIN_LANGUAGES`` (the first primary), whatever language the
    request is in; a text without a translation is given once.  ``text`` is a lazy translation or a plain
    string (a configured name: translated when the catalogue has it, as the default name)."""
    seen = set()
    for tag_language, django_language in EXPLAIN_LANGUAGES:
        with override(django_language):
            value = str(text) if not isinstance(text, str) else gettext(text)
        if value in seen:
            continue
        seen.add(value)
        element = etree.SubElement(parent, tag, lang=tag_language)
        if len(seen) == 1:
            element.set("primary", "true")
        element.text = records.clean_text(value)


def explain_record() -> etree._Element:
    site = urlsplit(settings.SITE_URL)
    z = f"{{{ZEEREX_NS}}}"
    root = etree.Element(f"{z}explain", nsmap={None: ZEEREX_NS})
    server = etree.SubElement(root, f"{z}serverInfo", protocol="SRU", version="1.2", transport=site.scheme or "http")
    etree.SubElement(server, f"{z}host").text = site.hostname or "localhost"
    etree.SubElement(server, f"{z}port").text = str(site.port or (443 if site.scheme == "https" else 80))
    etree.SubElement(server, f"{z}database").text = (site.path.strip("/") + "/sru").lstrip("/")
    database = etree.SubElement(root, f"{z}databaseInfo")
    _in_each_language(database, f"{z}title", settings.LIBRARY_NAME)
    _in_each_language(database, f"{z}description", gettext_lazy("法官书苑的馆藏目录（图书及馆藏）与公开的调研成果"))
    etree.SubElement(database, f"{z}contact").text = settings.OAI_ADMIN_EMAIL
    index_info = etree.SubElement(root, f"{z}indexInfo")
    for name, identifier in (("cql", "info:srw/cql-context-set/1/cql-v1.2"),
                             ("dc", "info:srw/cql-context-set/1/dc-v1.1"),
                             ("bath", "http://zing.z3950.org/cql/bath/2.0/")):
        etree.SubElement(index_info, f"{z}set", name=name, identifier=identifier)
    for context_set, name, title in catalogue.EXPLAINED_INDEXES:
        sortable = "true" if f"{context_set}.{name}".lower() in catalogue.SORT_INDEXES else "false"
        index = etree.SubElement(index_info, f"{z}index", search="true", scan="false", sort=sortable)
        _in_each_language(index, f"{z}title", title)
        etree.SubElement(etree.SubElement(index, f"{z}map"), f"{z}name", set=context_set).text = name
    schema_info = etree.SubElement(root, f"{z}schemaInfo")
    for identifier, name, location, title in SCHEMA_INFO:
        schema = etree.SubElement(schema_info, f"{z}schema", identifier=identifier, name=name, location=location,
                                  sort="false", retrieve="true")
        etree.SubElement(schema, f"{z}title").text = title
    config = etree.SubElement(root, f"{z}configInfo")
    etree.SubElement(config, f"{z}default", type="numberOfRecords").text = str(settings.SRU_DEFAULT_RECORDS)
    etree.SubElement(config, f"{z}default", type="recordSchema").text = "marcxml"
    etree.SubElement(config, f"{z}default", type="contextSet").text = "cql"
    etree.SubElement(config, f"{z}default", type="index").text = "cql.anywhere"
    etree.SubElement(config, f"{z}default", type="relation").text = "="
    etree.SubElement(config, f"{z}setting", type="maximumRecords").text = str(settings.SRU_MAX_RECORDS)
    for relation in ("=", "==", "all", "any", "adj", "<", ">", "<=", ">=", "<>"):
        etree.SubElement(config, f"{z}supports", type="relation").text = relation
    for operator in ("and", "or", "not"):
        etree.SubElement(config, f"{z}supports", type="booleanOperator").text = operator
    etree.SubElement(config, f"{z}supports", type="sort").text = "dc.title dc.date"
    return root


def explain(request: Request) -> bytes:
    v = request.version
    packing = _packing(request)
    root = _document(v, "explainResponse")
    _sub(root, v, "version", v)
    record = _sub(root, v, "record")
    _sub(record, v, "recordSchema", ZEEREX_NS)
    _record_data(record, v, packing, explain_record())
    _sub(record, v, "recordPosition", "1")
    _echo(root, request, "echoedExplainRequest")
    return _serialize(root)


# --- searchRetrieve ---------------------------------------------------------------------------------------


def _packing(request: Request) -> str:
    """'xml' or 'string': how a record sits in recordData."""
    if request.version == "2.0":
        packing = request.params.get("recordXMLEscaping", "xml")
        if request.params.get("recordPacking", "packed") != "packed":
            raise Diagnostic(71, request.params["recordPacking"], "only packed")
        name = "recordXMLEscaping"
    else:
        packing = request.params.get("recordPacking", "xml")
        name = "recordPacking"
    if packing not in ("xml", "string"):
        raise Diagnostic(71 if request.version == "1.2" else 6, name, packing)
    return packing


def _record_data(parent, version: str, packing: str, element) -> None:
    if version == "2.0":
        _sub(parent, version, "recordXMLEscaping", packing)
    else:
        _sub(parent, version, "recordPacking", packing)
    data = _sub(parent, version, "recordData")
    if packing == "xml":
        data.append(element)
    else:
        data.text = etree.tostring(element, encoding="unicode")


def _number(params: dict[str, str], name: str, default: int, minimum: int) -> int:
    text = params.get(name)
    if text is None or text == "":
        return default
    if not text.isascii() or not text.strip().isdigit() or len(text.strip()) > 9:
        raise Diagnostic(6, name, f"{name} must be a whole number")
    value = int(text)
    if value < minimum:
        # A value the parameter cannot take (startRecord 0) is 6 naming the parameter; 61 is for a start
        # past the end of the result set, which only the search can tell.
        raise Diagnostic(6, name, f"{name} must be at least {minimum}")
    return value


#: Most sort keys a request may give (diagnostic 84 beyond): two indexes sort, so more keys add nothing but
#: work — each key is one pass over every record found, and 200,000 keys in a POSTed sortKeys held a worker
#: for seconds on 93 records, minutes on a large catalogue (attack round 18b).
MAX_SORT_KEYS = 4


def _check_sort_count(count: int) -> None:
    if count > MAX_SORT_KEYS:
        raise Diagnostic(84, str(MAX_SORT_KEYS), f"at most {MAX_SORT_KEYS} sort keys")


def _sort_keys(text: str) -> list[SortKey]:
    """SRU 1.2 ``sortKeys``: space-separated ``path,schema,ascending,caseSensitive,missingValue``; at most
    ``MAX_SORT_KEYS`` of them."""
    specs = text.split()
    _check_sort_count(len(specs))
    keys = []
    for spec in specs:
        parts = spec.split(",")
        index = parts[0].lower()
        ascending = parts[2] if len(parts) > 2 else "1"
        if ascending not in ("", "0", "1"):
            raise Diagnostic(82, spec, "ascending is 1 or 0")
        keys.append(SortKey(index=index, ascending=ascending != "0"))
    return keys


def search_retrieve(request: Request) -> bytes:
    v, params = request.version, request.params
    text = params.get("query")
    if not text or not text.strip():
        raise Diagnostic(7, "query", "query is required")
    if len(text) > MAX_QUERY_CHARS:
        raise Diagnostic(12, str(MAX_QUERY_CHARS))
    start = _number(params, "startRecord", 1, 1)
    maximum = min(_number(params, "maximumRecords", settings.SRU_DEFAULT_RECORDS, 0), settings.SRU_MAX_RECORDS)
    schema_name = params.get("recordSchema", "marcxml")
    schema = SCHEMAS.get(schema_name) or SCHEMAS.get(schema_name.lower())
    if schema is None:
        raise Diagnostic(66, schema_name, "marcxml or dc")
    packing = _packing(request)
    try:
        query = parse(text)
    except CQLSyntaxError as exc:
        raise Diagnostic(10, text, str(exc)) from None
    if len(clauses(query.root)) > MAX_CLAUSES:
        raise Diagnostic(38, str(MAX_CLAUSES))
    _check_sort_count(len(query.sort))
    sort = query.sort or (_sort_keys(params["sortKeys"]) if params.get("sortKeys") else [])
    for clause in clauses(query.root):
        catalogue.check_clause(clause)  # every clause's diagnostic before any of them runs

    count, keys = _find(query.root, sort, start, maximum, request.charge)
    if count and start > count:
        raise Diagnostic(61, str(start), f"{count} records")

    root = _document(v, "searchRetrieveResponse")
    _sub(root, v, "version", v)
    _sub(root, v, "numberOfRecords", str(count))
    items = catalogue.fetch(keys)
    if items:
        box = _sub(root, v, "records")
        for position, item in enumerate(items, start=start):
            element = records.marcxml(item) if schema == MARCXML else records.dublin_core(item, oai=False)
            record = _sub(box, v, "record")
            _sub(record, v, "recordSchema", schema)
            _record_data(record, v, packing, element)
            _sub(record, v, "recordPosition", str(position))
    if start + len(keys) <= count and keys:
        _sub(root, v, "nextRecordPosition", str(start + len(keys)))
    _echo(root, request, "echoedSearchRetrieveRequest")
    return _serialize(root)


def _find(root, sort: list[SortKey], start: int, maximum: int,
          charge: Callable[[int], int] | None = None) -> tuple[int, list[catalogue.Key]]:
    """(number of records, the keys of the page)."""
    searches = catalogue.check_cost(root)
    if charge is not None and searches > 1:
        # Each search is the work of one ordinary request: a query of 32 words counts as 32 against the rate.
        wait = charge(searches - 1)
        if wait:
            raise Throttled(wait)
    single = (not sort and isinstance(root, catalogue.Clause)
              and catalogue.INDEXES.get(root.index) == "anywhere" and root.relation in ("=", "==", "adj", "all"))
    if single:
        # The search engine pages and counts by itself, at any size.
        _what, text = catalogue.check_clause(root)
        result = catalogue.run_search(text, limit=maximum, offset=start - 1)
        if not result.matched_all_terms:
            return 0, []
        return result.count, [(hit.type, hit.id) for hit in result.items]
    ordered = catalogue.order(catalogue.evaluate(root), sort)
    return len(ordered), ordered[start - 1 : start - 1 + maximum]


def _echo(root, request: Request, name: str) -> None:
    if request.version != "1.2":
        return  # SRU 2.0 has no echoed request
    echo = _sub(root, request.version, name)
    _sub(echo, request.version, "version", request.asked_version)
    names = (("recordPacking",) if name == "echoedExplainRequest" else
             ("query", "startRecord", "maximumRecords", "recordPacking", "recordSchema", "sortKeys"))
    for param in names:
        if param in request.params:
            _sub(echo, request.version, param, records.clean_text(request.params[param]))
