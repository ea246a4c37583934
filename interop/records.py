"""One catalogue record in the forms other libraries read: MARCXML (MARC 21 slim) and simple Dublin Core.

Books start from ``library.exporters.marc_record`` (the export's MARC 21) with its copy fields replaced by
**holdings**: one 852 per location where the book has copies (``$a`` the library, ``$b`` the location,
``$h`` the call number, ``$z`` a public note "在架 2 册，共 3 册"), then one 876 per copy (``$p`` barcode,
``$j`` its status as the API names it: available, on_loan …).  Lost and withdrawn copies are not holdings.
Papers (public ones: the callers pass only those) get a short MARC record of their own and a Dublin Core
record of type Text.  In Dublin Core a book's holdings are one ``dc:description`` line per location.

Every record's text passes ``clean_text``: XML 1.0 cannot carry most control characters.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from xml.etree import ElementTree

from django.conf import settings
from django.utils.translation import gettext as _
from lxml import etree
from pymarc import Field, Indicators, Record, Subfield, record_to_xml_node

from library.exporters import MARC_LANGUAGE_CODES, marc_record
from library.models import Book, Contributor, Copy, Paper

MARC_NS = "http://www.loc.gov/MARC21/slim"
DC_NS = "http://purl.org/dc/elements/1.1/"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
SRW_DC_NS = "info:srw/schema/1/dc-schema"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

# XML 1.0 allows tab, newline and carriage return below 0x20, nothing in the surrogates, not FFFE/FFFF;
# MARC's own separators and the C1 controls (UNIMARC's non-sorting marks) are no text either.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def clean_text(text: str | None) -> str:
    return _NOT_TEXT.sub("", text or "")


def book_url(book_id: int) -> str:
    return f"{settings.SITE_URL}/books/{book_id}"


def paper_url(paper_id: int) -> str:
    return f"{settings.SITE_URL}/papers/{paper_id}"


def _holdings(book: Book) -> OrderedDict[str, list[Copy]]:
    """The book's copies that are holdings (not lost, not withdrawn), by location in order of first barcode."""
    by_location: OrderedDict[str, list[Copy]] = OrderedDict()
    for copy in book.copies.all():
        if copy.status not in Copy.GONE:
            by_location.setdefault(copy.location, []).append(copy)
    return by_location


def holdings_note(copies: list[Copy]) -> str:
    available = sum(1 for c in copies if c.status == Copy.Status.AVAILABLE)
    return _("在架 %(available)d 册，共 %(total)d 册") % {"available": available, "total": len(copies)}


def book_marc(book: Book) -> Record:
    """The book's MARC 21 record with holdings (852 per location, 876 per copy); uses the prefetched
    ``contributors`` and ``copies`` of ``library.selectors.book_queryset()``."""
    record = marc_record(book)
    record.remove_fields("852", "876")
    for location, copies in _holdings(book).items():
        subfields = [Subfield("a", clean_text(settings.LIBRARY_NAME)), Subfield("b", clean_text(location))]
        if book.call_number:
            subfields.append(Subfield("h", clean_text(book.call_number)))
        subfields.append(Subfield("z", holdings_note(copies)))
        record.add_field(Field(tag="852", indicators=Indicators(" ", " "), subfields=subfields))
        for copy in copies:
            record.add_field(Field(tag="876", indicators=Indicators(" ", " "), subfields=[
                Subfield("p", clean_text(copy.barcode)), Subfield("j", copy.status),
                Subfield("l", clean_text(location)),
            ]))
    record.add_field(Field(tag="856", indicators=Indicators("4", "2"), subfields=[Subfield("u", book_url(book.pk))]))
    return record


def paper_marc(paper: Paper) -> Record:
    """A public paper as a short MARC 21 record (language material, monograph); uses the prefetched
    ``paper_authors``."""
    record = Record(force_utf8=True, leader="00000nam a2200000 c 4500")
    entered = paper.created_at.strftime("%y%m%d") if paper.created_at else "000000"
    dates = f"s{paper.year:04d}    " if paper.year else "nuuuuuuuu"
    record.add_field(
        Field(tag="001", data=f"shuyuan-paper-{paper.pk}"),
        Field(tag="008", data=f"{entered}{dates}xx {' ' * 11}000 0 {MARC_LANGUAGE_CODES.get('zh', 'chi')} d"),
    )
    authors = [a.name for a in paper.paper_authors.all()]
    if authors:
        record.add_field(Field(tag="100", indicators=Indicators("1", " "), subfields=[Subfield("a", clean_text(authors[0]))]))
    record.add_field(Field(tag="245", indicators=Indicators("1" if authors else "0", "0"),
                           subfields=[Subfield("a", clean_text(paper.title))]))
    if paper.year:
        record.add_field(Field(tag="264", indicators=Indicators(" ", "1"), subfields=[Subfield("c", str(paper.year))]))
    if paper.venue:
        record.add_field(Field(tag="500", subfields=[Subfield("a", clean_text(paper.venue))]))
    if paper.awards:
        record.add_field(Field(tag="586", subfields=[Subfield("a", clean_text(paper.awards))]))
    if paper.abstract:
        record.add_field(Field(tag="520", subfields=[Subfield("a", clean_text(paper.abstract))]))
    for keyword in paper.keywords or []:
        record.add_field(Field(tag="653", subfields=[Subfield("a", clean_text(keyword))]))
    record.add_field(Field(tag="655", indicators=Indicators(" ", "4"),
                           subfields=[Subfield("a", str(Paper.Kind(paper.kind).label))]))
    for name in authors[1:]:
        record.add_field(Field(tag="700", indicators=Indicators("1", " "), subfields=[Subfield("a", clean_text(name))]))
    record.add_field(Field(tag="856", indicators=Indicators("4", "0"), subfields=[Subfield("u", paper_url(paper.pk))]))
    return record


def marcxml(item: Book | Paper) -> etree._Element:
    """``<record xmlns="http://www.loc.gov/MARC21/slim">`` of a book or a paper."""
    record = book_marc(item) if isinstance(item, Book) else paper_marc(item)
    for field in record.fields:  # the export's text may still hold characters XML cannot carry
        if field.is_control_field():
            field.data = clean_text(field.data)
        else:
            field.subfields = [Subfield(s.code, clean_text(s.value)) for s in field.subfields]
    node = record_to_xml_node(record, namespace=True)
    # pymarc builds with the standard library's ElementTree: hand lxml the bytes.
    return etree.fromstring(ElementTree.tostring(node, encoding="utf-8"))


def _dc_values(item: Book | Paper) -> list[tuple[str, str]]:
    values: list[tuple[str, str]] = []
    if isinstance(item, Book):
        title = item.title + (f" : {item.subtitle}" if item.subtitle else "")
        values.append(("title", title))
        for contributor in item.contributors.all():
            element = "creator" if contributor.role == Contributor.Role.AUTHOR else "contributor"
            values.append((element, contributor.name))
        values += [("subject", s) for s in item.subjects or []]
        if item.clc:
            values.append(("subject", item.clc))
        if item.summary:
            values.append(("description", item.summary))
        for location, copies in _holdings(item).items():
            line = _("馆藏：%(library)s %(location)s") % {"library": settings.LIBRARY_NAME, "location": location}
            if item.call_number:
                line += " " + _("索书号 %(call_number)s") % {"call_number": item.call_number}
            values.append(("description", f"{line}，{holdings_note(copies)}"))
        if item.publisher:
            values.append(("publisher", item.publisher))
        if item.year:
            values.append(("date", str(item.year)))
        values.append(("type", "Text"))
        if item.isbn:
            values.append(("identifier", f"urn:isbn:{item.isbn}"))
        values.append(("identifier", book_url(item.pk)))
        values.append(("language", MARC_LANGUAGE_CODES.get(item.language, "und")))
    else:
        values.append(("title", item.title))
        values += [("creator", a.name) for a in item.paper_authors.all()]
        values += [("subject", k) for k in item.keywords or []]
        if item.abstract:
            values.append(("description", item.abstract))
        if item.awards:
            values.append(("description", item.awards))
        if item.year:
            values.append(("date", str(item.year)))
        values.append(("type", "Text"))
        values.append(("type", str(Paper.Kind(item.kind).label)))
        if item.venue:
            values.append(("source", item.venue))
        values.append(("identifier", paper_url(item.pk)))
    return [(name, clean_text(value)) for name, value in values if clean_text(value).strip()]


def dublin_core(item: Book | Paper, *, oai: bool) -> etree._Element:
    """``<oai_dc:dc>`` (OAI-PMH) or ``<srw_dc:dc>`` (SRU's dc-v1.1 schema) of a book or a paper."""
    if oai:
        root = etree.Element(f"{{{OAI_DC_NS}}}dc", nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS})
        root.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_DC_NS} http://www.openarchives.org/OAI/2.0/oai_dc.xsd")
    else:
        root = etree.Element(f"{{{SRW_DC_NS}}}dc", nsmap={"srw_dc": SRW_DC_NS, "dc": DC_NS})
    for name, value in _dc_values(item):
        etree.SubElement(root, f"{{{DC_NS}}}{name}").text = value
    return root
