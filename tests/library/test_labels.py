"""Spine and barcode labels and library cards: the PDFs read back by pdftotext and a barcode decoder, the ways a
librarian chooses copies (API, page, admin), the record of what was printed, and the refusals."""

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from accounts.models import Profile, Role
from core.errors import InvalidInput
from library.models import Copy
from library.services import Person, book_create, copy_create, labels_print
from tests.conftest import make_user
from tests.library.pdfs import pdf_barcodes, pdf_pages

pytestmark = pytest.mark.django_db


@pytest.fixture
def shelf():
    """Three books of one class (numbered D923.6/1 … /3 as their copies come), one renumbered /10 by hand so
    that shelf order (…/2 before …/10) differs from text order; and one copy lost."""
    contract = book_create(title="合同法总论", clc="D923.6", contributors=[Person("韩世远")])
    copy_create(book=contract, barcode="FG0001", location="院本部", acquired_on=date(2020, 11, 2))
    copy_create(book=contract, barcode="FG0002", location="棋盘井法庭", acquired_on=date(2020, 11, 20))
    tort = book_create(title="侵权责任法", clc="D923.6")
    copy_create(book=tort, barcode="FG0003", acquired_on=date(2020, 11, 25))
    criminal = book_create(title="刑法学", clc="D924")
    copy_create(book=criminal, barcode="FG0004", acquired_on=date(2020, 10, 1))
    old = book_create(title="旧版民法", clc="D923", call_number="D923.6/10")
    copy_create(book=old, barcode="FG0005", acquired_on=date(2020, 11, 30))
    copy_create(book=old, barcode="FG0006", status=Copy.Status.LOST, acquired_on=date(2020, 11, 30))
    return {"contract": contract, "tort": tort, "criminal": criminal, "old": old}


def test_a_sheet_of_both_kinds_reads_back_in_shelf_order(shelf):
    printed = labels_print(kind="both", barcodes=["fg0005", "FG0003", "FG0001"])

    assert [c.barcode for c in printed.copies] == ["FG0001", "FG0003", "FG0005"]
    assert printed.labels == 6
    assert pdf_pages(printed.pdf) == [
        # Spine labels: the call number over lines, then the location.
        ["D923.6", "1", "院本部", "D923.6", "2", "院本部", "D923.6", "10", "院本部"],
        # Barcode labels: short title, barcode, library and call number.
        ["合同法总论", "FG0001", "法官书苑 D923.6/1", "侵权责任法", "FG0003", "法官书苑 D923.6/2",
         "旧版民法", "FG0005", "法官书苑 D923.6/10"],
    ]
    assert pdf_barcodes(printed.pdf) == [[], [("Code128", "FG0001"), ("Code128", "FG0003"), ("Code128", "FG0005")]]


def test_printing_records_the_time_and_unprinted_passes_those_copies_over(shelf):
    before = timezone.now()
    spine = labels_print(kind="spine", unprinted=True, accessioned_since=date(2020, 11, 20))

    assert [c.barcode for c in spine.copies] == ["FG0002", "FG0003", "FG0005"]  # not FG0006: lost
    assert pdf_pages(spine.pdf) == [["D923.6", "1", "棋盘井法庭", "D923.6", "2", "院本部", "D923.6", "10", "院本部"]]
    printed_at = dict(Copy.objects.values_list("barcode", "label_printed_at"))
    assert {b for b, at in printed_at.items() if at is not None and at >= before} == {"FG0002", "FG0003", "FG0005"}
    assert [c.barcode for c in labels_print(kind="barcode", unprinted=True).copies] == ["FG0001", "FG0004"]
    with pytest.raises(InvalidInput) as nothing_left:
        labels_print(unprinted=True)
    assert (nothing_left.value.field, nothing_left.value.code) == ("unprinted", "no_copies")


def test_a_preview_is_not_recorded(shelf):
    labels_print(kind="spine", barcodes=["FG0004"], mark_printed=False)

    assert Copy.objects.get(barcode="FG0004").label_printed_at is None


def test_accessioned_since_falls_back_to_the_day_a_copy_was_entered(shelf):
    Copy.objects.filter(barcode="FG0004").update(acquired_on=None)

    chosen = labels_print(kind="spine", accessioned_since=timezone.localdate() - timedelta(days=1))

    assert [c.barcode for c in chosen.copies] == ["FG0004"]


@pytest.mark.parametrize("selection, field, code", [
    ({}, "barcodes", "no_selection"),
    ({"barcodes": ["FG0001", "NOPE1", "NOPE2"]}, "barcodes", "unknown_barcodes"),
    ({"barcodes": ["条码"]}, "barcodes", "barcode_format"),
    ({"accessioned_since": date(2999, 1, 1)}, "accessioned_since", "no_copies"),
    ({"kind": "spines", "barcodes": ["FG0001"]}, "kind", "invalid"),
])
def test_refusals_name_the_field(shelf, selection, field, code):
    with pytest.raises(InvalidInput) as refused:
        labels_print(**selection)

    assert (refused.value.field, refused.value.code) == (field, code)


def test_more_labels_than_a_request_may_draw_are_refused_counting_both_kinds(shelf, settings):
    settings.LABELS_MAX_PER_REQUEST = 4
    assert labels_print(kind="spine", barcodes=["FG0001", "FG0002", "FG0003", "FG0004"]).labels == 4

    with pytest.raises(InvalidInput) as refused:
        labels_print(kind="both", barcodes=["FG0001", "FG0002", "FG0003"])

    assert (refused.value.field, refused.value.code) == ("barcodes", "too_many_labels")
    assert refused.value.detail == "一次最多打印 4 张标签，所选 3 册共 6 张；请缩小范围"


# --- the API ----------------------------------------------------------------------------------------------


def test_the_api_answers_a_pdf_to_a_librarian(shelf, librarian_api):
    response = librarian_api.post("/api/v1/labels", {"kind": "barcode", "barcodes": ["FG0004"]})

    assert response.status_code == 200
    assert (response["Content-Type"], response["Content-Disposition"], response["X-Label-Count"]) == (
        "application/pdf", 'inline; filename="labels-barcode.pdf"', "1")
    assert pdf_pages(response.content) == [["刑法学", "FG0004", "法官书苑 D924/1"]]
    assert librarian_api.get("/api/v1/copies/FG0004").json()["label_printed_at"] is not None


def test_the_api_refuses_readers_and_strangers(shelf, judge_api, anon_api):
    body = {"barcodes": ["FG0001"]}

    judge, anonymous = judge_api.post("/api/v1/labels", body), anon_api.post("/api/v1/labels", body)

    assert (judge.status_code, judge.json()["code"]) == (403, "forbidden")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")
    assert Copy.objects.get(barcode="FG0001").label_printed_at is None


def test_the_api_refuses_too_many_labels_naming_the_field(shelf, librarian_api, settings):
    settings.LABELS_MAX_PER_REQUEST = 3

    by_date = librarian_api.post("/api/v1/labels", {"accessioned_since": "2020-01-01"})
    listed = librarian_api.post("/api/v1/labels", {"barcodes": [f"X{n}" for n in range(1001)]})

    assert by_date.status_code == 422
    assert by_date.json() == {"code": "too_many_labels", "detail": [{
        "loc": ["body", "accessioned_since"], "field": "accessioned_since", "type": "too_many_labels",
        "msg": "一次最多打印 3 张标签，所选 5 册共 10 张；请缩小范围"}]}
    assert (listed.status_code, [e["field"] for e in listed.json()["detail"]]) == (422, ["barcodes"])


def test_the_api_speaks_english_when_asked(shelf, librarian_api):
    response = librarian_api.post("/api/v1/labels", {"barcodes": ["NOPE"]}, headers={"Accept-Language": "en"})

    assert response.json()["detail"][0]["msg"] == "No such barcodes: NOPE"


# --- the page and the admin -------------------------------------------------------------------------------


@pytest.fixture
def desk(librarian):
    client = Client()
    client.force_login(librarian)
    return client


def test_the_labels_page_counts_what_waits_and_prints_it(shelf, desk):
    page = desk.get("/desk/labels")
    printed = desk.post("/desk/labels", {"kind": "spine", "unprinted": "on", "mark_printed": "on", "barcodes": ""})
    again = desk.get("/desk/labels")

    assert "有 5 册复本的标签还没有打印。" in page.content.decode()  # not FG0006: lost
    assert (printed.status_code, printed["Content-Type"]) == (200, "application/pdf")
    assert pdf_pages(printed.content) == [["D923.6", "1", "院本部", "D923.6", "1", "棋盘井法庭", "D923.6", "2", "院本部",
                                           "D923.6", "10", "院本部", "D924", "1", "院本部"]]
    assert "有 0 册复本的标签还没有打印。" in again.content.decode()


def test_the_labels_page_shows_a_refusal_beside_its_field(shelf, desk, settings):
    settings.LABELS_MAX_PER_REQUEST = 2
    response = desk.post("/desk/labels", {"kind": "both", "barcodes": "FG0001\nFG0002", "mark_printed": "on"})

    assert response.status_code == 400
    assert response.context["form"].errors == {"barcodes": ["一次最多打印 2 张标签，所选 2 册共 4 张；请缩小范围"]}


def test_the_labels_and_cards_pages_are_for_librarians(judge):
    client = Client()
    client.force_login(judge)

    assert [client.get(url).status_code for url in ("/desk/labels", "/desk/cards")] == [403, 403]


def test_the_admin_prints_the_labels_of_the_copies_selected(shelf, librarian):
    client = Client()
    client.force_login(librarian)
    ids = list(Copy.objects.filter(barcode__in=["FG0004", "FG0002"]).values_list("pk", flat=True))

    response = client.post("/admin/library/copy/", {"action": "print_labels", "_selected_action": ids})

    assert (response.status_code, response["Content-Type"]) == (200, "application/pdf")
    assert pdf_barcodes(response.content)[1] == [("Code128", "FG0002"), ("Code128", "FG0004")]
    assert set(Copy.objects.filter(label_printed_at__isnull=False).values_list("barcode", flat=True)) == {
        "FG0002", "FG0004"}


# --- library cards ----------------------------------------------------------------------------------------


@pytest.fixture
def readers(db):
    return [make_user("judge1", Role.JUDGE, display_name="张明", division="民事审判庭"),
            make_user("judge2", Role.JUDGE, display_name="欧阳修远", division="民事审判庭"),
            make_user("judge3", Role.JUDGE, display_name="无证读者", division="执行局")]


def _give_cards(readers):
    for n, user in enumerate(readers[:2], start=1):
        Profile.objects.filter(user=user).update(card_number=f"R00012{n}")


def test_a_card_carries_the_library_the_name_the_division_and_the_number_as_a_barcode(readers, desk):
    _give_cards(readers)

    response = desk.post("/desk/cards", {"readers": "judge2\nR000121", "division": ""})

    assert (response.status_code, response["Content-Type"]) == (200, "application/pdf")
    assert pdf_pages(response.content) == [["法官书苑 读者证", "欧阳修远", "民事审判庭", "R000122",
                                            "法官书苑 读者证", "张明", "民事审判庭", "R000121"]]
    assert pdf_barcodes(response.content) == [[("Code128", "R000122"), ("Code128", "R000121")]]


def test_cards_for_a_whole_division(readers, desk):
    _give_cards(readers)
    Profile.objects.filter(user=readers[2]).update(division="民事审判庭")  # no card number: left out

    response = desk.post("/desk/cards", {"readers": "", "division": "民事审判庭"})

    assert sorted(line for line in pdf_pages(response.content)[0] if line.startswith("R")) == ["R000121", "R000122"]


def test_a_reader_without_a_card_number_is_named_and_nothing_is_printed(readers, desk):
    _give_cards(readers)

    response = desk.post("/desk/cards", {"readers": "judge1 judge3", "division": ""})
    unknown = desk.post("/desk/cards", {"readers": "nobody", "division": ""})

    assert response.status_code == 400
    assert response.context["form"].errors == {"readers": ["这些读者还没有读者证号：无证读者"]}
    assert unknown.context["form"].errors == {"readers": ["没有这些读者：nobody"]}


def test_too_many_readers_are_refused_before_any_lookup(readers, desk, settings, django_assert_max_num_queries):
    """Attack round 16: 5,300 names made one request look each up (19 s, both workers busy)."""
    settings.CARDS_MAX_PER_REQUEST = 2
    _give_cards(readers)
    too_many = desk.post("/desk/cards", {"readers": " ".join(f"x{i}" for i in range(3000)), "division": ""})
    assert too_many.status_code == 400
    assert too_many.context["form"].errors == {"readers": ["一次最多打印 2 张读者证，收到 3000 个读者"]}
    from accounts.cards import card_readers

    with django_assert_max_num_queries(1):  # the named readers in one query
        assert [u.username for u in card_readers(identifiers=["r000122", "judge1"])] == ["judge2", "judge1"]


def test_the_admin_prints_cards_of_the_users_selected(readers):
    _give_cards(readers)
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="secret-pass-1"))

    response = client.post("/admin/auth/user/", {"action": "print_cards",
                                                 "_selected_action": [readers[0].pk, readers[1].pk]})
    refused = client.post("/admin/auth/user/", {"action": "print_cards", "_selected_action": [readers[2].pk]},
                          follow=True)

    assert (response.status_code, response["Content-Type"]) == (200, "application/pdf")
    assert sorted(pdf_barcodes(response.content)[0]) == [("Code128", "R000121"), ("Code128", "R000122")]
    assert [str(m) for m in refused.context["messages"]] == ["这些读者还没有读者证号：无证读者"]
