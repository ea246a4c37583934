"""The OAI-PMH 2.0 data provider (``/oai``, GET or POST): books and public papers.

- Items: ``oai:<OAI_REPOSITORY_IDENTIFIER>:book/<id>`` and ``…:paper/<id>``; internal papers do not exist here
  (GetRecord answers idDoesNotExist, lists never show them, counts never include them).
- Formats: ``oai_dc`` and ``marcxml`` for every item (papers get a short MARC record).
- Sets: ``book``, ``paper`` and ``paper:<kind>`` for each kind of paper.
- Datestamps: the record's ``updated_at`` in UTC, granularity seconds (``from``/``until`` take days or seconds,
  both of one granularity; ``until`` includes its whole day or second).
- Deleted records: ``no`` — nothing is kept of a deleted book or of a paper made internal; harvesters drop
  what a full harvest no longer lists.
- Lists come in pages of ``OAI_PAGE_SIZE`` in (type, id) order with a resumption token: signed (Django's
  signing, so a client cannot forge or change one), valid for ``OAI_TOKEN_SECONDS``, carrying the arguments,
  the harvest's start as its ``until`` (a record changed during the harvest is left for the next
  incremental one), the cursor and the last key.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db.models import Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from lxml import etree

from interop import catalogue, hints, records
from library.models import Book, Paper

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
XSI_NS = records.XSI_NS
FORMATS = {
    "oai_dc": ("http://www.openarchives.org/OAI/2.0/oai_dc.xsd", records.OAI_DC_NS),
    "marcxml": ("http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd", records.MARC_NS),
}
VERBS = {
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), {"resumptionToken"}),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
}
TOKEN_SALT = "interop.oai.resumption"
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
SECOND = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


class OAIError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _o(name: str) -> str:
    return f"{{{OAI_NS}}}{name}"


def datestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def repository_id() -> str:
    return settings.OAI_REPOSITORY_IDENTIFIER


def identifier(kind: str, pk: int) -> str:
    return f"oai:{repository_id()}:{kind}/{pk}"


def parse_identifier(text: str) -> catalogue.Key | None:
    match = re.fullmatch(rf"oai:{re.escape(repository_id())}:(book|paper)/([1-9][0-9]{{0,17}})", text)
    return (match.group(1), int(match.group(2))) if match else None


def sets() -> list[tuple[str, str]]:
    """(setSpec, setName) of every set, in ListSets' order."""
    return [("book", _("图书")), ("paper", _("调研成果"))] + [
        (f"paper:{value}", str(label)) for value, label in Paper.Kind.choices
    ]


def _set_specs(item: Book | Paper) -> list[str]:
    return ["book"] if isinstance(item, Book) else ["paper", f"paper:{item.kind}"]


# --- requests ---------------------------------------------------------------------------------------------


def _envelope(base_url: str):
    """(the OAI-PMH root with its responseDate, its request element)."""
    root = etree.Element(_o("OAI-PMH"), nsmap={None: OAI_NS, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd")
    etree.SubElement(root, _o("responseDate")).text = datestamp(timezone.now())
    request = etree.SubElement(root, _o("request"))
    request.text = base_url
    return root, request


def _serialize(root) -> bytes:
    hints.add(root, "interop/oai.xsl", "OAI-PMH")  # a browser's stylesheet and a comment for people
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")


def handle(args: dict[str, list[str]], base_url: str) -> bytes:
    """The XML answer to an OAI-PMH request with the arguments ``args`` (each name → its values)."""
    root, request = _envelope(base_url)
    try:
        verb, single = _check(args)
        for name, value in single.items():
            request.set(name, value)
        body = globals()[f"_{verb}"](single, base_url)
        root.append(body)
    except OAIError as error:
        if error.code in ("badVerb", "badArgument"):
            request.attrib.clear()  # the spec: no attributes when the request itself is at fault
        etree.SubElement(root, _o("error"), code=error.code).text = error.message
    return _serialize(root)


def unsupported_media(content_type: str, base_url: str) -> bytes:
    """The answer (sent with 415) to a POST whose body is not form data: badArgument, as no argument was read."""
    root, _request = _envelope(base_url)
    etree.SubElement(root, _o("error"), code="badArgument").text = _(
        "POST 请求的参数应以表单（application/x-www-form-urlencoded）提交，而不是 %(type)s"
    ) % {"type": records.clean_text(content_type[:100])}
    return _serialize(root)


def _check(args: dict[str, list[str]]) -> tuple[str, dict[str, str]]:
    verbs = args.get("verb") or []
    if len(verbs) != 1 or verbs[0] not in VERBS:
        raise OAIError("badVerb", _("缺少 verb、verb 重复或不是 OAI-PMH 的操作"))
    verb = verbs[0]
    required, optional = VERBS[verb]
    single = {}
    for name, values in args.items():
        if name == "verb":
            continue
        if name not in required | optional:
            raise OAIError("badArgument", _("%(verb)s 不接受参数 %(name)s") % {"verb": verb, "name": name[:50]})
        if len(values) != 1:
            raise OAIError("badArgument", _("参数 %(name)s 重复") % {"name": name})
        single[name] = values[0]
    if "resumptionToken" in single:
        if len(single) > 1:
            raise OAIError("badArgument", _("resumptionToken 不能与其他参数同时使用"))
    else:
        missing = sorted(required - set(single))
        if missing:
            raise OAIError("badArgument", _("缺少参数 %(names)s") % {"names": "、".join(missing)})
    return verb, {"verb": verb, **single}


# --- verbs ------------------------------------------------------------------------------------------------


def _Identify(args, base_url):  # noqa: N802 - named after the verb
    body = etree.Element(_o("Identify"))
    earliest = [q.aggregate(m=Min("updated_at"))["m"] for q in (catalogue.public_books(), catalogue.public_papers())]
    earliest = min((e for e in earliest if e is not None), default=timezone.now())
    for name, value in (
        ("repositoryName", settings.LIBRARY_NAME),
        ("baseURL", base_url),
        ("protocolVersion", "2.0"),
        ("adminEmail", settings.OAI_ADMIN_EMAIL),
        ("earliestDatestamp", datestamp(earliest)),
        ("deletedRecord", "no"),
        ("granularity", "YYYY-MM-DDThh:mm:ssZ"),
    ):
        etree.SubElement(body, _o(name)).text = value
    description = etree.SubElement(body, _o("description"))
    ns = "http://www.openarchives.org/OAI/2.0/oai-identifier"
    ident = etree.SubElement(description, f"{{{ns}}}oai-identifier", nsmap={None: ns})
    ident.set(f"{{{XSI_NS}}}schemaLocation", f"{ns} http://www.openarchives.org/OAI/2.0/oai-identifier.xsd")
    for name, value in (("scheme", "oai"), ("repositoryIdentifier", repository_id()), ("delimiter", ":"),
                        ("sampleIdentifier", identifier("book", 1))):
        etree.SubElement(ident, f"{{{ns}}}{name}").text = value
    return body


def _ListMetadataFormats(args, base_url):  # noqa: N802
    if "identifier" in args:
        _item(args["identifier"])  # idDoesNotExist when it is not ours; every item has every format
    body = etree.Element(_o("ListMetadataFormats"))
    for prefix, (schema, namespace) in FORMATS.items():
        entry = etree.SubElement(body, _o("metadataFormat"))
        etree.SubElement(entry, _o("metadataPrefix")).text = prefix
        etree.SubElement(entry, _o("schema")).text = schema
        etree.SubElement(entry, _o("metadataNamespace")).text = namespace
    return body


def _ListSets(args, base_url):  # noqa: N802
    if "resumptionToken" in args:
        raise OAIError("badResumptionToken", _("集合列表只有一页，没有续取标记"))
    body = etree.Element(_o("ListSets"))
    for spec, name in sets():
        entry = etree.SubElement(body, _o("set"))
        etree.SubElement(entry, _o("setSpec")).text = spec
        etree.SubElement(entry, _o("setName")).text = name
    return body


def _GetRecord(args, base_url):  # noqa: N802
    prefix = _prefix(args["metadataPrefix"])
    item = _item(args["identifier"])
    body = etree.Element(_o("GetRecord"))
    body.append(_record(item, prefix))
    return body


def _ListIdentifiers(args, base_url):  # noqa: N802
    return _list("ListIdentifiers", args)


def _ListRecords(args, base_url):  # noqa: N802
    return _list("ListRecords", args)


# --- helpers ----------------------------------------------------------------------------------------------


def _prefix(prefix: str) -> str:
    if prefix not in FORMATS:
        raise OAIError("cannotDisseminateFormat", _("不支持的元数据格式 %(prefix)s（可用 oai_dc、marcxml）")
                       % {"prefix": prefix[:50]})
    return prefix


def _item(text: str) -> Book | Paper:
    key = parse_identifier(text)
    found = catalogue.fetch([key]) if key else []
    if not found:
        raise OAIError("idDoesNotExist", _("没有这条记录：%(identifier)s") % {"identifier": records.clean_text(text[:200])})
    return found[0]


def _header(item: Book | Paper):
    header = etree.Element(_o("header"))
    kind = "book" if isinstance(item, Book) else "paper"
    etree.SubElement(header, _o("identifier")).text = identifier(kind, item.pk)
    etree.SubElement(header, _o("datestamp")).text = datestamp(item.updated_at)
    for spec in _set_specs(item):
        etree.SubElement(header, _o("setSpec")).text = spec
    return header


def _record(item: Book | Paper, prefix: str):
    record = etree.Element(_o("record"))
    record.append(_header(item))
    metadata = etree.SubElement(record, _o("metadata"))
    metadata.append(records.dublin_core(item, oai=True) if prefix == "oai_dc" else records.marcxml(item))
    return record


def _moment(text: str, *, end: bool) -> tuple[datetime, str]:
    """(the bound as an instant, its granularity); ``end`` turns it into the first instant after it."""
    if DAY.fullmatch(text):
        granularity, fmt, step = "day", "%Y-%m-%d", timedelta(days=1)
    elif SECOND.fullmatch(text):
        granularity, fmt, step = "second", "%Y-%m-%dT%H:%M:%SZ", timedelta(seconds=1)
    else:
        raise OAIError("badArgument", _("日期格式应为 YYYY-MM-DD 或 YYYY-MM-DDThh:mm:ssZ：%(value)s")
                       % {"value": records.clean_text(text[:40])})
    try:
        moment = datetime.strptime(text, fmt).replace(tzinfo=UTC)
    except ValueError:
        raise OAIError("badArgument", _("日期不存在：%(value)s") % {"value": text}) from None
    if end:
        moment = moment + step if moment < datetime.max.replace(tzinfo=UTC) - step else moment
    return moment, granularity


def _selection(state: dict) -> tuple[Q, Q | None, bool, bool]:
    """(date filter, paper kind filter, include books, include papers) of a list request's state."""
    window = Q()
    if state.get("f"):
        window &= Q(updated_at__gte=datetime.fromisoformat(state["f"]))
    if state.get("u"):
        window &= Q(updated_at__lt=datetime.fromisoformat(state["u"]))
    spec = state.get("s")
    kind = None
    if spec is None:
        return window, None, True, True
    if spec == "book":
        return window, None, True, False
    if spec == "paper":
        return window, None, False, True
    if spec.startswith("paper:") and spec[6:] in Paper.Kind.values:
        kind = Q(kind=spec[6:])
        return window, kind, False, True
    raise OAIError("badArgument", _("没有这个集合：%(set)s") % {"set": records.clean_text(spec[:50])})


def _first_state(args: dict[str, str]) -> dict:
    prefix = _prefix(args["metadataPrefix"])
    state: dict = {"p": prefix, "s": args.get("set"), "c": 0, "k": None}
    start = end = None
    granularities = set()
    if "from" in args:
        start, granularity = _moment(args["from"], end=False)
        granularities.add(granularity)
    if "until" in args:
        end, granularity = _moment(args["until"], end=True)
        granularities.add(granularity)
    if len(granularities) > 1:
        raise OAIError("badArgument", _("from 与 until 的日期粒度不同"))
    if start and end and start >= end:
        raise OAIError("badArgument", _("from 晚于 until"))
    now = timezone.now().replace(microsecond=0) + timedelta(seconds=1)
    state["f"] = start.isoformat() if start else None
    state["u"] = min(end, now).isoformat() if end else now.isoformat()
    return state


def _state_from_token(token: str) -> dict:
    try:
        state = signing.loads(token, salt=TOKEN_SALT, max_age=settings.OAI_TOKEN_SECONDS)
    except signing.SignatureExpired:
        raise OAIError("badResumptionToken", _("续取标记已过期，请从头重新收割")) from None
    except (signing.BadSignature, ValueError, TypeError, UnicodeError):
        raise OAIError("badResumptionToken", _("续取标记无效")) from None
    if not isinstance(state, dict) or state.get("p") not in FORMATS:
        raise OAIError("badResumptionToken", _("续取标记无效"))
    return state


def _list(verb: str, args: dict[str, str]):
    state = _state_from_token(args["resumptionToken"]) if "resumptionToken" in args else _first_state(args)
    window, kind, with_books, with_papers = _selection(state)
    books = catalogue.public_books().filter(window) if with_books else Book.objects.none()
    papers = catalogue.public_papers().filter(window) if with_papers else Paper.objects.none()
    if kind is not None:
        papers = papers.filter(kind)
    size = settings.OAI_PAGE_SIZE
    last = tuple(state["k"]) if state.get("k") else None
    keys: list[catalogue.Key] = []
    if last is None or last[0] == "book":
        after = books.filter(pk__gt=last[1]) if last else books
        keys += [("book", pk) for pk in after.order_by("pk").values_list("pk", flat=True)[: size + 1]]
    if len(keys) <= size:
        after = papers.filter(pk__gt=last[1]) if last and last[0] == "paper" else papers
        keys += [("paper", pk) for pk in after.order_by("pk").values_list("pk", flat=True)[: size + 1 - len(keys)]]
    more = len(keys) > size
    keys = keys[:size]
    if not keys and state["c"] == 0:
        raise OAIError("noRecordsMatch", _("没有符合条件的记录"))
    body = etree.Element(_o(verb))
    for item in catalogue.fetch(keys):
        body.append(_header(item) if verb == "ListIdentifiers" else _record(item, state["p"]))
    if state["c"] or more:
        total = books.count() + papers.count()
        token = etree.SubElement(body, _o("resumptionToken"), completeListSize=str(total), cursor=str(state["c"]))
        if more:
            following = {**state, "c": state["c"] + len(keys), "k": list(keys[-1])}
            token.text = signing.dumps(following, salt=TOKEN_SALT, compress=True)
            expires = timezone.now() + timedelta(seconds=settings.OAI_TOKEN_SECONDS)
            token.set("expirationDate", datestamp(expires))
    return body
