"""An SRU client for copy cataloguing: build a searchRetrieve request, fetch it safely, read the answer.

Hand-written rather than ``sruthi`` (PyPI 2.0.0, read in this session): sruthi fetches with a plain
``requests.Session().get`` (redirects followed anywhere, the whole body read into memory, no per-call
timeouts), knows SRU 1.x diagnostics only (not SRU 2.0's namespace) and hands records back as flattened
dictionaries, which lose the MARC structure the importers need.  Here:

- the request goes out through ``core.net.get_limited``: http/https only, public addresses only (never this
  machine's) unless the target is marked as on the court's network by a superuser and its host:port is listed
  in SRU_INTERNAL_HOSTS, never a link-local, multicast or unspecified address, names resolved and checked at
  each request, redirects re-checked, connect and read timeouts, a size cap enforced while reading;
- the answer is parsed by ``library.marcxml.parse`` (lxml without entities, DTDs or network);
- every failure is an ``SruError`` with a sentence for the librarian (never a traceback).
"""

from dataclasses import dataclass, field
from http.client import HTTPException
from urllib.parse import urlencode

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from lxml import etree

from core.errors import DomainError
from core.net import OutboundRefused, ResponseTooLarge, get_limited
from library import marcxml
from library.models import SruTarget

#: What a librarian searches by, and the relation used: an ISBN is one exact term; title and author words
#: must all occur ("all"), in any order, as CQL's ``all`` says.
SEARCH_KINDS = ("isbn", "title", "author")
RELATIONS = {"isbn": "=", "title": "all", "author": "all"}

#: Plain words for the usual SRU diagnostics (info:srw/diagnostic/1/N).
DIAGNOSTICS = {
    "1": gettext_lazy("对方服务器内部错误"),
    "4": gettext_lazy("对方服务器不支持这种操作"),
    "5": gettext_lazy("对方服务器不支持所选的 SRU 版本"),
    "6": gettext_lazy("对方服务器不接受某个参数的值"),
    "7": gettext_lazy("缺少对方服务器要求的参数"),
    "10": gettext_lazy("对方服务器无法理解检索式"),
    "16": gettext_lazy("对方服务器不支持所用的检索点（请在检索目标中改用它的检索点名称）"),
    "19": gettext_lazy("对方服务器不支持所用的关系"),
    "61": gettext_lazy("起始记录超出了结果范围"),
    "66": gettext_lazy("对方服务器不提供所选的记录格式"),
}


class SruError(DomainError):
    """The target could not be asked or did not answer usefully; ``detail`` says why in plain words.  An
    API answer of 409 (the request was fine; the other library's server was not), never a 5xx."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(code, detail, status=409)


@dataclass
class RawRecord:
    """One record of an answer: its position in the result set and its XML (None: the server sent a
    diagnostic in its place, ``problem`` says which)."""

    position: int
    xml: bytes | None
    problem: str = ""


@dataclass
class SearchAnswer:
    total: int
    records: list[RawRecord] = field(default_factory=list)
    next_position: int | None = None


def quote(term: str) -> str:
    """``term`` as one CQL quoted string, taken literally: quotes and backslashes escaped, and CQL's masking
    characters (``*``, ``?``, ``^``) escaped too, so that what the librarian typed is searched as typed."""
    escaped = "".join("\\" + ch if ch in '\\"*?^' else ch for ch in " ".join(term.split()))
    return f'"{escaped}"'


def cql(target: SruTarget, *, by: str, term: str) -> str:
    """The CQL query for a search of ``target`` by ``by`` (isbn, title or author)."""
    index = {"isbn": target.isbn_index, "title": target.title_index, "author": target.author_index}[by]
    if by == "isbn":
        term = term.replace(" ", "")
    return f"{index} {RELATIONS[by]} {quote(term)}"


def search_url(target: SruTarget, *, query: str, start: int, maximum: int) -> str:
    params = {"operation": "searchRetrieve", "version": target.version, "query": query, "startRecord": start,
              "maximumRecords": maximum, "recordSchema": target.record_schema}
    if target.version == "2.0":
        # SRU 2.0 has no operation or version parameter, and asks for XML records with recordXMLEscaping.
        params = {"query": query, "startRecord": start, "maximumRecords": maximum,
                  "recordSchema": target.record_schema, "recordXMLEscaping": "xml"}
    else:
        params["recordPacking"] = "xml"
    separator = "&" if "?" in target.base_url else "?"
    return target.base_url + separator + urlencode(params)


def explain_url(target: SruTarget) -> str:
    separator = "&" if "?" in target.base_url else "?"
    params = {} if target.version == "2.0" else {"operation": "explain", "version": target.version}
    return target.base_url + (separator + urlencode(params) if params else "")


def fetch(target: SruTarget, url: str) -> bytes:
    """The body of a 200 answer from ``target`` at ``url``; ``SruError`` with plain words otherwise."""
    allowed = [h.lower() for h in settings.SRU_ALLOWED_HOSTS]
    # A target on the court's network is trusted at its own host and port only, and only while SRU_INTERNAL_HOSTS
    # lists them (a target saved before the list, or marked by hand in the database, is not).
    if target.internal_network and not target.internal_listed:
        raise SruError("sru_refused", _("%(name)s 标为“位于法院内网”，但 %(endpoint)s 不在设置 SRU_INTERNAL_HOSTS "
                                        "中，未发出请求；请系统管理员核实") % {
            "name": target.name, "endpoint": target.endpoint or target.base_url[:100]})
    trusted = [target.endpoint] if target.internal_network else []
    try:
        response = get_limited(
            url, allowed_hosts=allowed, trusted_endpoints=trusted,
            connect_timeout=settings.SRU_CONNECT_TIMEOUT, read_timeout=settings.SRU_READ_TIMEOUT,
            max_response=settings.SRU_MAX_RESPONSE, headers={"Accept": "application/xml, text/xml"})
    except OutboundRefused as exc:
        raise SruError("sru_refused", _("不能访问 %(name)s 的地址：%(reason)s") % {"name": target.name,
                                                                                  "reason": exc}) from None
    except ResponseTooLarge:
        raise SruError("sru_too_large", _("%(name)s 的回答超过 %(mb)s MB，已放弃；请把检索词写得更具体") % {
            "name": target.name, "mb": round(settings.SRU_MAX_RESPONSE / 1024 / 1024, 1)}) from None
    except TimeoutError:
        raise SruError("sru_timeout", _("%(name)s 没有及时回答（超时），请稍后再试") % {"name": target.name}) from None
    except (OSError, HTTPException) as exc:
        raise SruError("sru_unreachable", _("无法连接 %(name)s：%(reason)s") % {
            "name": target.name, "reason": exc.__class__.__name__ if not str(exc) else str(exc)[:200]}) from None
    if response.status != 200:
        raise SruError("sru_http", _("%(name)s 回答了 HTTP %(status)s，没有给出结果") % {
            "name": target.name, "status": response.status})
    return response.body


def _local(element) -> str:
    return etree.QName(element.tag).localname if isinstance(element.tag, str) else ""


def _child(element, name: str):
    return next((c for c in element if _local(c) == name), None)


def _text(element, name: str) -> str:
    found = _child(element, name) if element is not None else None
    return (found.text or "").strip() if found is not None else ""


def diagnostic_text(diagnostic) -> str:
    """A diagnostic element in plain words: what the number means, then the server's own details."""
    uri = _text(diagnostic, "uri")
    number = uri.rsplit("/", 1)[-1] if uri.startswith("info:srw/diagnostic/") else ""
    plain = str(DIAGNOSTICS.get(number, _("对方服务器报告了错误")))
    extra = "；".join(part for part in (_text(diagnostic, "message"), _text(diagnostic, "details")) if part)
    code = f" [{uri}]" if uri else ""
    return f"{plain}{code}" + (_("（%(extra)s）") % {"extra": extra[:300]} if extra else "")


def whole_number(text: str) -> int | None:
    """A count or position the other server wrote: ASCII digits, at most 12 of them, else None.  ``isdigit``
    alone lets "²" and 5,000-digit numbers through to ``int``, which raises (a 500 on the librarian's search,
    attack round 18b); a negative count is no count."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else None


def _parse(target: SruTarget, body: bytes, *, expected: str):
    try:
        root = marcxml.parse(body)
    except marcxml.XMLRefused:
        raise SruError("sru_not_xml", _("%(name)s 的回答不是可读的 XML，请检查服务地址") % {"name": target.name}) from None
    if _local(root) != expected:
        raise SruError("sru_not_sru", _("%(name)s 的回答不是 SRU 格式（收到 <%(tag)s>），请检查服务地址") % {
            "name": target.name, "tag": _local(root)[:40]})
    return root


def search(target: SruTarget, *, by: str, term: str, start: int = 1, maximum: int | None = None) -> SearchAnswer:
    """Ask ``target`` for records matching ``term`` by ``by``, from position ``start`` (1-based)."""
    maximum = maximum or settings.SRU_PAGE_SIZE
    url = search_url(target, query=cql(target, by=by, term=term), start=start, maximum=maximum)
    root = _parse(target, fetch(target, url), expected="searchRetrieveResponse")
    diagnostics = _child(root, "diagnostics")
    problems = [diagnostic_text(d) for d in diagnostics if _local(d) == "diagnostic"] if diagnostics is not None else []
    records_element = _child(root, "records")
    total_text = _text(root, "numberOfRecords")
    if problems and (records_element is None or len(records_element) == 0):
        raise SruError("sru_diagnostic", _("%(name)s：%(problems)s") % {"name": target.name,
                                                                       "problems": "；".join(problems)})
    total = whole_number(total_text)
    if total is None:
        raise SruError("sru_not_sru", _("%(name)s 的回答缺少结果数（numberOfRecords）") % {"name": target.name})
    answer = SearchAnswer(total=total)
    answer.next_position = whole_number(_text(root, "nextRecordPosition"))
    for offset, record in enumerate(r for r in (records_element if records_element is not None else [])
                                    if _local(r) == "record"):
        position = whole_number(_text(record, "recordPosition"))
        position = start + offset if position is None else position
        answer.records.append(_raw_record(record, position))
    return answer


def _raw_record(record, position: int) -> RawRecord:
    data = _child(record, "recordData")
    if data is None:
        return RawRecord(position, None, _("记录没有内容"))
    elements = [c for c in data if isinstance(c.tag, str)]
    if elements:
        if _local(elements[0]) == "diagnostic":  # a surrogate diagnostic in the record's place
            return RawRecord(position, None, diagnostic_text(elements[0]))
        return RawRecord(position, etree.tostring(elements[0], encoding="utf-8"))
    text = (data.text or "").strip()
    if text.startswith("<"):  # recordPacking "string": the record is escaped XML
        return RawRecord(position, text.encode("utf-8"))
    return RawRecord(position, None, _("记录没有内容"))


def explain(target: SruTarget) -> dict:
    """What the server says about itself: its database title and the index names it offers (for checking a
    target's configuration)."""
    root = _parse(target, fetch(target, explain_url(target)), expected="explainResponse")
    title = ""
    indexes = []
    for element in root.iter():
        name = _local(element)
        if name == "databaseInfo" and not title:
            title = _text(element, "title")
        elif name == "index":
            for mapping in (c for c in element if _local(c) == "map"):
                index_name = _child(mapping, "name")
                if index_name is not None and (index_name.text or "").strip():
                    prefix = index_name.get("set")
                    indexes.append(f"{prefix}.{index_name.text.strip()}" if prefix else index_name.text.strip())
    return {"title": title, "indexes": indexes}
