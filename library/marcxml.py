"""Read MARC records out of XML: MARC21 slim MARCXML, UNIMARC/CNMARC XML, bare or wrapped.

A record is any element named ``record`` (in any namespace, or none) whose children include a ``leader``,
``controlfield`` or ``datafield``: MARC21 slim (``http://www.loc.gov/MARC21/slim``, with or without a
``marc:`` prefix), UNIMARC XML (``info:srw/schema/8/unimarcxml-v0.1``), CNMARC XML (``http://www.nlc.cn/``)
and the same element names without a namespace all qualify.  Wrappers are looked through: a
``collection``, an SRU ``searchRetrieveResponse`` (SRU 1.1/1.2/2.0; ``recordPacking`` ``xml``, or
``string``, where the record is escaped XML inside ``recordData``) and an OAI-PMH ``GetRecord`` /
``ListRecords`` envelope.  The SRU or OAI record that wraps a MARC record is not itself a record, so a
response holding Dublin Core only yields nothing (pymarc's ``parse_xml_to_array`` would yield one empty
record per wrapper).

Parsing is safe for untrusted files: no network, no external or internal entity expansion, no DTD
loading, no huge-tree mode (libxml2's limits on depth and text size stay on); a document that declares
entities is refused outright, as defusedxml does.  Each record is converted on its own
(``record_from_element``): one bad record fails alone, with its number.
"""

import io
import re
from collections.abc import Iterator

from lxml import etree
from pymarc import Field, Indicators, Record, Subfield

#: Local names of the elements that hold MARC's parts.
MARC_PARTS = frozenset({"leader", "controlfield", "datafield"})
#: Where an SRU response keeps a record escaped as a string (recordPacking "string"), and OAI-PMH's metadata.
PAYLOAD_ELEMENTS = frozenset({"recordData", "metadata"})
SRU_DIAGNOSTIC_TEXT = ("message", "details")


class XMLRefused(ValueError):
    """The bytes are not XML that may be read: malformed, or declaring entities."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
        remove_comments=True, remove_pis=True,
    )


def looks_like_xml(data: bytes) -> bool:
    """True when the bytes start (after a BOM and white space) with ``<?xml`` or an element."""
    head = data[:4096]
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            head = head[len(bom):].decode(encoding, "ignore").encode()
            break
    head = head.lstrip()
    return re.match(rb"<(?:\?xml[\s?]|!--|!DOCTYPE|[A-Za-z_])", head) is not None


def parse(data: bytes) -> etree._Element:
    """The document's root element; raises ``XMLRefused`` with libxml2's message."""
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise XMLRefused(str(exc)) from None
    if root is None:
        raise XMLRefused("no root element")
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise XMLRefused("entity declarations are not allowed")
    return root


def _local(element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _is_marc_record(element) -> bool:
    return _local(element) == "record" and any(_local(child) in MARC_PARTS for child in element)


#: SRU string packing inside string packing: real answers have one level; more is refused as unreadable.
MAX_PAYLOAD_NESTING = 3


def marc_elements(root) -> Iterator[etree._Element]:
    """The MARC record elements under ``root`` (itself included), in document order.

    A payload element (SRU ``recordData``, OAI ``metadata``) without child elements whose text is XML is
    parsed (the same safe way) and searched in turn: SRU's recordPacking ``string``.  The walk keeps its own
    stack (a deep document nested in escaped payloads must not exhaust Python's), and a payload nested more
    than ``MAX_PAYLOAD_NESTING`` deep is yielded as it is: the caller reports it as a record it could not read.
    """
    stack = [(root, 0)]
    while stack:
        element, nesting = stack.pop()
        if _is_marc_record(element):
            yield element
            continue
        if element is not root and _local(element) in PAYLOAD_ELEMENTS and len(element) == 0 and (
                element.text or "").strip().startswith("<"):
            if nesting >= MAX_PAYLOAD_NESTING:
                yield element
                continue
            try:
                inner = parse(element.text.strip().encode("utf-8"))
            except XMLRefused:
                yield element  # reported by the caller as a record that could not be read
                continue
            stack.append((inner, nesting + 1))
            continue
        stack.extend((child, nesting) for child in reversed(element) if isinstance(child.tag, str))


def diagnostics(root) -> list[str]:
    """The messages of SRU diagnostics or OAI-PMH errors in the document (to explain an empty answer)."""
    found = []
    for element in root.iter():
        name = _local(element)
        if name == "diagnostic":
            parts = [(c.text or "").strip() for c in element if _local(c) in SRU_DIAGNOSTIC_TEXT]
            found.append(" ".join(p for p in parts if p))
        elif name == "error" and element.get("code"):
            found.append(f"{element.get('code')}: {(element.text or '').strip()}".strip(": "))
    return [text for text in found if text]


def tags(element) -> set[str]:
    """The tags of a record element's fields (for judging its dialect)."""
    return {child.get("tag", "") for child in element if _local(child) in ("controlfield", "datafield")}


def record_from_element(element) -> Record:
    """A pymarc Record from one record element; raises ``ValueError`` with the reason when it is not one."""
    if not _is_marc_record(element):
        raise ValueError("recordData is not well-formed XML")
    record = Record(force_utf8=True)
    for child in element:
        name = _local(child)
        if name == "leader":
            leader = (child.text or "").replace("\n", "")
            # Some systems (dp2, Aleph) write blanks in the leader as "-"; only 24 characters are meaningful.
            leader = leader.replace("-", " ")[:24].ljust(24)
            record.leader = leader
        elif name == "controlfield":
            tag = (child.get("tag") or "").strip()
            if not re.fullmatch(r"[0-9A-Za-z]{3}", tag):
                raise ValueError(f"controlfield with tag {tag!r}")
            record.add_field(Field(tag=tag, data=child.text or ""))
        elif name == "datafield":
            tag = (child.get("tag") or "").strip()
            if not re.fullmatch(r"[0-9A-Za-z]{3}", tag):
                raise ValueError(f"datafield with tag {tag!r}")
            indicators = Indicators((child.get("ind1") or " ")[:1], (child.get("ind2") or " ")[:1])
            subfields = [
                Subfield((sub.get("code") or " ")[:1], sub.text or "") for sub in child if _local(sub) == "subfield"
            ]
            record.add_field(Field(tag=tag, indicators=indicators, subfields=subfields))
    return record


def count_elements(data: bytes, limit: int) -> int:
    """How many elements the document holds, at most ``limit + 1`` (counting stops there): read with the
    same safe parser settings as ``parse`` but without keeping the tree, each element dropped once counted,
    so a document padded with millions of elements is refused before it is built.  The text of a payload
    element (SRU ``recordData`` packed as a string, OAI ``metadata``) counts as many elements as it has
    tags, escaped or not.  Raises ``XMLRefused`` for a document that is not XML that may be read."""
    events = etree.iterparse(
        io.BytesIO(data), events=("end",), resolve_entities=False, no_network=True, load_dtd=False,
        dtd_validation=False, huge_tree=False, remove_comments=True, remove_pis=True,
    )
    count = 0
    try:
        for _event, element in events:
            count += 1
            if len(element) == 0 and element.text and _local(element) in PAYLOAD_ELEMENTS:
                count += element.text.count("<") + element.text.count("lt;")
            if count > limit:
                return limit + 1
            # Keep the tree small: the element's content and its finished elder siblings go.
            element.clear(keep_tail=False)
            parent = element.getparent()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        raise XMLRefused(str(exc)) from None
    return count
