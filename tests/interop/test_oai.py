"""The OAI-PMH data provider: every verb, sets, datestamps with both granularities, resumption tokens,
every error a client can cause, and never an internal paper."""

import io
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pymarc
import pytest
import time_machine
from django.test import Client
from lxml import etree

from accounts.models import Role
from library.models import Book, Paper
from library.services import book_create, paper_create
from tests.conftest import make_user
from tests.interop.conftest import SECRET, SRW, xml
from tests.realdata import shared


def oai(client=None, method="get", **args):
    return xml(getattr(client or Client(), method)("/oai", args))


def error(root) -> str | None:
    found = root.find("oai:error", SRW)
    return None if found is None else found.get("code")


def identifiers(root) -> list[str]:
    return [i.text for i in root.iterfind(".//oai:header/oai:identifier", SRW)]


def ident(item) -> str:
    return f"oai:127.0.0.1:{'book' if isinstance(item, Book) else 'paper'}/{item.pk}"


def test_identify(catalogue):
    root = oai(verb="Identify")

    body = root.find("oai:Identify", SRW)
    assert body.findtext("oai:repositoryName", namespaces=SRW) == "法官书苑"
    assert body.findtext("oai:baseURL", namespaces=SRW) == "http://127.0.0.1:8000/oai"
    assert body.findtext("oai:protocolVersion", namespaces=SRW) == "2.0"
    assert body.findtext("oai:deletedRecord", namespaces=SRW) == "no"
    assert body.findtext("oai:granularity", namespaces=SRW) == "YYYY-MM-DDThh:mm:ssZ"
    earliest = min(Book.objects.order_by("updated_at")[0].updated_at, catalogue["public"].updated_at)
    assert body.findtext("oai:earliestDatestamp", namespaces=SRW) == earliest.astimezone(UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def test_list_metadata_formats_and_sets(catalogue):
    formats = oai(verb="ListMetadataFormats")
    sets = oai(verb="ListSets")

    assert [f.text for f in formats.iterfind(".//oai:metadataPrefix", SRW)] == ["oai_dc", "marcxml"]
    assert [s.text for s in sets.iterfind(".//oai:setSpec", SRW)] == [
        "book", "paper", "paper:research_project", "paper:article", "paper:case_study", "paper:judgment_commentary"]
    assert error(oai(verb="ListMetadataFormats", identifier=ident(catalogue["civil"]))) is None
    assert error(oai(verb="ListMetadataFormats", identifier=ident(catalogue["secret"]))) == "idDoesNotExist"


def test_list_identifiers_lists_books_and_public_papers_only(catalogue):
    root = oai(verb="ListIdentifiers", metadataPrefix="oai_dc")

    expected = [ident(catalogue[k]) for k in ("civil", "contract", "law", "public")]
    assert identifiers(root) == expected
    assert identifiers(oai(verb="ListIdentifiers", metadataPrefix="oai_dc", set="paper")) == [ident(catalogue["public"])]
    assert identifiers(oai(verb="ListIdentifiers", metadataPrefix="oai_dc", set="paper:article")) == [
        ident(catalogue["public"])]
    assert error(oai(verb="ListIdentifiers", metadataPrefix="oai_dc", set="paper:case_study")) == "noRecordsMatch"
    assert identifiers(oai(verb="ListIdentifiers", metadataPrefix="oai_dc", set="book")) == expected[:3]


def test_list_records_text_never_holds_the_internal_paper_even_for_a_judge(catalogue):
    judge = Client()
    judge.force_login(make_user("judge9", Role.JUDGE))
    for client in (Client(), judge):
        for prefix in ("oai_dc", "marcxml"):
            response = client.get("/oai", {"verb": "ListRecords", "metadataPrefix": prefix})
            assert SECRET not in response.content.decode()
            assert len(identifiers(xml(response))) == 4


def test_get_record_in_both_formats(catalogue):
    civil, public = catalogue["civil"], catalogue["public"]

    marc = oai(verb="GetRecord", identifier=ident(civil), metadataPrefix="marcxml")
    dc = oai(verb="GetRecord", identifier=ident(public), metadataPrefix="oai_dc")

    [record] = pymarc.parse_xml_to_array(io.BytesIO(etree.tostring(marc.find(".//marc:record", SRW))))
    assert record["001"].data == f"shuyuan-{civil.pk}"
    assert [f["b"] for f in record.get_fields("852")] == ["院本部", "棋盘井法庭"]
    assert dc.findtext(".//dc:title", namespaces=SRW) == public.title
    assert [s.text for s in dc.iterfind(".//oai:header/oai:setSpec", SRW)] == ["paper", "paper:article"]


@pytest.mark.parametrize(("args", "code"), [
    ({}, "badVerb"),
    ({"verb": "Harvest"}, "badVerb"),
    ({"verb": "ListRecords"}, "badArgument"),
    ({"verb": "Identify", "extra": "1"}, "badArgument"),
    ({"verb": "GetRecord", "identifier": "oai:127.0.0.1:book/1"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "mods"}, "cannotDisseminateFormat"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "events"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-13-01"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-01-01T00:00:00"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-01-01", "until": "2021-01-01T00:00:00Z"},
     "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2021-01-02", "until": "2021-01-01"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "until": "1999-01-01"}, "noRecordsMatch"),
    ({"verb": "ListRecords", "resumptionToken": "forged"}, "badResumptionToken"),
    ({"verb": "ListSets", "resumptionToken": "x"}, "badResumptionToken"),
    ({"verb": "ListRecords", "resumptionToken": "x", "metadataPrefix": "oai_dc"}, "badArgument"),
    ({"verb": "GetRecord", "identifier": "oai:elsewhere:book/1", "metadataPrefix": "oai_dc"}, "idDoesNotExist"),
    ({"verb": "GetRecord", "identifier": "oai:127.0.0.1:book/999999", "metadataPrefix": "oai_dc"}, "idDoesNotExist"),
    ({"verb": "GetRecord", "identifier": "oai:127.0.0.1:book/1", "metadataPrefix": "mods"}, "cannotDisseminateFormat"),
])
def test_errors_are_xml_with_200(catalogue, args, code):
    root = oai(**args)

    assert error(root) == code
    if code in ("badVerb", "badArgument"):
        assert dict(root.find("oai:request", SRW).attrib) == {}


def children(root) -> list[str]:
    return [etree.QName(child).localname for child in root]


@pytest.mark.parametrize(("name", "args"), [
    # Real repositories' answers (sickle's sample data, tests/fixtures/realdata/sickle): the same mistake asked
    # of ours gets the same error code in the same envelope.
    ("badArgument.xml", {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2002-06-01T02:00:00Z",
                         "until": "2002-06-01T03:020:00Z"}),
    ("badResumptionToken.xml", {"verb": "ListSets", "resumptionToken": "0001"}),
    ("cannotDisseminateFormat.xml", {"verb": "GetRecord", "identifier": "oai:127.0.0.1:book/1",
                                     "metadataPrefix": "oai_marc"}),
    ("idDoesNotExist.xml", {"verb": "ListMetadataFormats", "identifier": "oai:lcoa1.loc.gov:loc.rbc/rbpe.00000111"}),
    ("noRecordsMatch.xml", {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "from": "2001-01-01",
                            "until": "2001-01-01"}),
])
def test_errors_are_answered_as_real_repositories_answer_them(catalogue, name, args):
    real = etree.fromstring(shared(f"sickle/{name}").read_bytes())

    ours = oai(**args)

    assert (ours.tag, children(ours)) == (real.tag, children(real)) == (
        "{http://www.openarchives.org/OAI/2.0/}OAI-PMH", ["responseDate", "request", "error"])
    assert error(ours) == error(real) == name.removesuffix(".xml")


@pytest.mark.parametrize(("name", "args"), [
    ("Identify.xml", {"verb": "Identify"}),
    ("ListMetadataFormats.xml", {"verb": "ListMetadataFormats"}),
    ("ListSets.xml", {"verb": "ListSets"}),
    ("GetRecord.xml", {"verb": "GetRecord", "metadataPrefix": "oai_dc"}),
    ("ListRecords.xml", {"verb": "ListRecords", "metadataPrefix": "oai_dc"}),
])
def test_answers_have_the_elements_real_repositories_send_in_their_order(catalogue, name, args):
    """Each element a real repository's answer holds under the verb (Identify's repositoryName … granularity, a
    record's header and metadata) is in ours, in the schema's order; optional ones (Identify's description, a
    record's about) may be absent.  Compared without repeats: the real ones list other numbers of records."""
    if args["verb"] == "GetRecord":
        args["identifier"] = ident(catalogue["civil"])
    real = etree.fromstring(shared(f"sickle/{name}").read_bytes())
    ours = oai(**args)
    verb = f"oai:{args['verb']}"
    optional = {"description", "about", "setDescription", "resumptionToken"}

    def shape(root) -> list[str]:
        body = root.find(verb, SRW)
        # the fullest element: a record with metadata, not a deleted one's header alone
        fullest = max((c for c in body if etree.QName(c).localname not in optional), key=len)
        return children(root) + children(body) + children(fullest)

    expected = [n for n in dict.fromkeys(shape(real)) if n not in optional]
    assert [n for n in dict.fromkeys(shape(ours)) if n not in optional] == expected


def test_repeated_arguments_are_bad(catalogue):
    response = Client().get("/oai?verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=marcxml")
    twice = Client().get("/oai?verb=Identify&verb=Identify")

    assert error(xml(response)) == "badArgument"
    assert error(xml(twice)) == "badVerb"


def test_an_internal_papers_identifier_does_not_exist(catalogue):
    root = oai(verb="GetRecord", identifier=ident(catalogue["secret"]), metadataPrefix="oai_dc")

    assert error(root) == "idDoesNotExist"
    assert root.find("oai:GetRecord", SRW) is None


def test_post_is_answered_like_get(catalogue):
    root = oai(method="post", verb="ListIdentifiers", metadataPrefix="oai_dc", set="book")

    assert len(identifiers(root)) == 3


def test_post_form_urlencoded_needs_no_csrf_token(catalogue):
    """OAI-PMH 2.0 §3.1.1.2: POST with the arguments as application/x-www-form-urlencoded."""
    client = Client(enforce_csrf_checks=True)
    body = urlencode({"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "book"})

    posted = client.post("/oai", body, content_type="application/x-www-form-urlencoded")

    assert posted.status_code == 200, posted.content[:300]
    root = xml(posted)
    assert identifiers(root) == [ident(catalogue[k]) for k in ("civil", "contract", "law")]
    assert dict(root.find("oai:request", SRW).attrib) == {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc",
                                                          "set": "book"}


def test_resumption_tokens_page_through_with_cursor_and_complete_list_size(catalogue, settings):
    settings.OAI_PAGE_SIZE = 3
    first = oai(verb="ListRecords", metadataPrefix="oai_dc")
    token = first.find(".//oai:resumptionToken", SRW)

    second = oai(verb="ListRecords", resumptionToken=token.text)

    assert (token.get("cursor"), token.get("completeListSize")) == ("0", "4")
    assert token.get("expirationDate")
    last = second.find(".//oai:resumptionToken", SRW)
    assert (last.get("cursor"), last.get("completeListSize"), last.text) == ("3", "4", None)
    assert identifiers(first) + identifiers(second) == [ident(catalogue[k]) for k in ("civil", "contract", "law",
                                                                                     "public")]
    changed = token.text[:-3] + ("AAA" if not token.text.endswith("AAA") else "BBB")
    assert error(oai(verb="ListRecords", resumptionToken=changed)) == "badResumptionToken"


def test_a_token_expires(catalogue, settings):
    settings.OAI_PAGE_SIZE = 1
    token = oai(verb="ListIdentifiers", metadataPrefix="oai_dc").findtext(".//oai:resumptionToken", namespaces=SRW)

    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=settings.OAI_TOKEN_SECONDS + 60)):
        root = oai(verb="ListIdentifiers", resumptionToken=token)

    assert error(root) == "badResumptionToken"


@pytest.mark.django_db
def test_from_and_until_by_day_and_by_second():
    with time_machine.travel(datetime(2024, 3, 1, 8, 0, 0, tzinfo=UTC), tick=False):
        old = book_create(title="旧书")
    with time_machine.travel(datetime(2024, 3, 2, 23, 59, 59, 500_000, tzinfo=UTC), tick=False):
        late = paper_create(title="深夜公开的成果", visibility=Paper.Visibility.PUBLIC)
    with time_machine.travel(datetime(2024, 3, 5, 12, 0, 0, tzinfo=UTC), tick=False):
        new = book_create(title="新书")

    def listed(**bounds):
        root = oai(verb="ListIdentifiers", metadataPrefix="oai_dc", **bounds)
        return identifiers(root) if error(root) is None else error(root)

    assert listed(**{"from": "2024-03-02"}) == [ident(new), ident(late)]
    assert listed(until="2024-03-02") == [ident(old), ident(late)]  # the whole day
    assert listed(until="2024-03-02T23:59:59Z") == [ident(old), ident(late)]  # the whole second
    assert listed(until="2024-03-02T23:59:58Z") == [ident(old)]
    assert listed(**{"from": "2024-03-01T08:00:01Z", "until": "2024-03-04T00:00:00Z"}) == [ident(late)]
    assert listed(**{"from": "2024-03-06"}) == "noRecordsMatch"
    header = oai(verb="GetRecord", identifier=ident(late), metadataPrefix="oai_dc").find(".//oai:header", SRW)
    assert header.findtext("oai:datestamp", namespaces=SRW) == "2024-03-02T23:59:59Z"


def test_over_the_rate_oai_answers_503_with_retry_after(catalogue, settings):
    settings.INTEROP_RATE = 1
    client = Client()
    assert client.get("/oai", {"verb": "Identify"}).status_code == 200

    response = client.get("/oai", {"verb": "Identify"})

    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
