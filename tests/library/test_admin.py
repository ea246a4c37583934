"""The admin as librarians use it: lists with search and filters, forms that keep the catalog's rules."""

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from core.text import MESSAGE
from library.models import Book, Copy, Paper
from library.services import Person, book_create, copy_create, paper_create
from tests.admin_forms import admin_form_data
from tests.jobs.worker import run_queued_jobs
from tests.library.files import make_docx_with_xml

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_librarian(librarian):
    client = Client()
    client.force_login(librarian)
    return client


@pytest.fixture
def superuser_client(db):
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="secret-pass-1"))
    return client


@pytest.fixture
def book():
    b = book_create(title="民法物权", isbn="9787301048153", contributors=[Person("王泽鉴")], clc="D923.2")
    copy_create(book=b, barcode="FG0001")
    return b


@pytest.mark.parametrize("path", ["/admin/library/book/", "/admin/library/copy/", "/admin/library/paper/",
                                  "/admin/library/book/add/", "/admin/library/paper/add/"])
def test_librarian_pages_render_in_chinese(admin_client_librarian, book, path):
    response = admin_client_librarian.get(path)
    assert response.status_code == 200
    assert "法官书苑" in response.content.decode()


def test_book_search_finds_by_author_and_isbn(admin_client_librarian, book):
    book_create(title="刑法学", contributors=[Person("张明楷")])
    for query in ("王泽鉴", "9787301048153", "D923"):
        page = admin_client_librarian.get("/admin/library/book/", {"q": query}).content.decode()
        assert "民法物权" in page and "刑法学" not in page


def test_book_change_page_shows_copies_inline(admin_client_librarian, book):
    page = admin_client_librarian.get(f"/admin/library/book/{book.pk}/change/").content.decode()
    assert "FG0001" in page and "王泽鉴" in page


def _copy_form(book, **overrides):
    data = {"book": book.pk, "barcode": "FG0001", "location": "院本部", "shelf": "", "status": "available",
            "acquired_on": "", "note": ""}
    data.update(overrides)
    return data


def test_admin_cannot_set_circulation_status_by_hand(admin_client_librarian, book):
    copy = Copy.objects.get(barcode="FG0001")
    response = admin_client_librarian.post(f"/admin/library/copy/{copy.pk}/change/", _copy_form(book, status="on_loan"))
    assert response.status_code == 200  # the form comes back with an error
    assert "借还流程" in response.content.decode()
    assert Copy.objects.get(pk=copy.pk).status == "available"


def test_admin_copy_edit_saves_normal_status(admin_client_librarian, book):
    copy = Copy.objects.get(barcode="FG0001")
    response = admin_client_librarian.post(f"/admin/library/copy/{copy.pk}/change/", _copy_form(book, status="repair"))
    assert response.status_code == 302
    assert Copy.objects.get(pk=copy.pk).status == "repair"


def test_admin_rejects_duplicate_barcode(admin_client_librarian, book):
    response = admin_client_librarian.post("/admin/library/copy/add/", _copy_form(book))
    assert response.status_code == 200
    assert Copy.objects.count() == 1


def _paper_form(**overrides):
    data = {"title": "诉调对接研究", "kind": "research_project", "year": "2024", "visibility": "internal",
            "abstract": "", "keywords": "[]", "awards": "", "venue": "",
            "paper_authors-TOTAL_FORMS": "1", "paper_authors-INITIAL_FORMS": "0",
            "paper_authors-MIN_NUM_FORMS": "0", "paper_authors-MAX_NUM_FORMS": "1000",
            "paper_authors-0-position": "0", "paper_authors-0-name": "王芳"}
    data.update(overrides)
    return data


def test_admin_adds_paper_with_uploaded_text(admin_client_librarian, librarian, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("课题.txt", "诉调对接的全文。".encode("gb18030"))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_librarian.post("/admin/library/paper/add/", _paper_form(upload=upload))
    assert response.status_code == 302
    assert Paper.objects.get().extraction_status == "pending"
    run_queued_jobs()
    paper = Paper.objects.get()
    assert (paper.full_text, paper.file_name, paper.created_by) == ("诉调对接的全文。", "课题.txt", librarian)
    assert list(paper.paper_authors.values_list("name", flat=True)) == ["王芳"]


def test_admin_upload_reads_the_text_in_the_sandbox(settings, block_parsers, admin_client_librarian,
                                                    django_capture_on_commit_callbacks):
    """The admin form checks the type only; a job reads the text in the child once the admin's transaction
    commits."""
    settings.PAPER_EXTRACT_MAX_DOCX_XML_BYTES = 1024 * 1024
    data = make_docx_with_xml(2 * 1024 * 1024)
    block_parsers()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_librarian.post(
            "/admin/library/paper/add/", _paper_form(upload=SimpleUploadedFile("课题.docx", data))
        )
    [job] = run_queued_jobs()

    paper = Paper.objects.get()
    # The file is kept and the paper says why; the job fails with the same reason (the jobs list shows it).
    assert (response.status_code, job.state, job.created_by.username) == (302, "failed", "librarian1")
    assert job.error == f"调研成果 #{paper.pk}：DOCX 文档 XML 超过 1 MB"
    assert (paper.file_type, paper.file_size, paper.extraction_status, paper.extraction_error) == (
        "docx", len(data), Paper.ExtractionStatus.FAILED, "DOCX 文档 XML 超过 1 MB"
    )


def test_admin_rejects_unsupported_upload(admin_client_librarian):
    upload = SimpleUploadedFile("x.exe", b"MZ\x00\x00\x00binary")
    response = admin_client_librarian.post("/admin/library/paper/add/", _paper_form(upload=upload))
    assert response.status_code == 200
    assert "PDF" in response.content.decode()
    assert not Paper.objects.exists()


def test_admin_book_add_normalizes_hyphenated_isbn(admin_client_librarian):
    data = {"title": "合同法研究", "subtitle": "", "isbn": "978-7-300-00000-8", "publisher": "", "year": "",
            "edition": "", "language": "zh", "clc": "d923.6", "call_number": "", "subjects": "[]", "summary": "",
            "cover_url": "",
            "contributors-TOTAL_FORMS": "0", "contributors-INITIAL_FORMS": "0", "contributors-MIN_NUM_FORMS": "0",
            "contributors-MAX_NUM_FORMS": "1000", "copies-TOTAL_FORMS": "0", "copies-INITIAL_FORMS": "0",
            "copies-MIN_NUM_FORMS": "0", "copies-MAX_NUM_FORMS": "1000"}
    response = admin_client_librarian.post("/admin/library/book/add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    book = Book.objects.get()
    assert (book.isbn, book.clc) == ("9787300000008", "D923.6")
    # Saved: on to the new book's own page (the list it landed on before did not show it); "save and continue"
    # stays in the admin.
    assert response["Location"] == f"/books/{book.pk}"
    again = admin_client_librarian.post("/admin/library/book/add/", {**data, "isbn": "", "_continue": "1"})
    assert again["Location"] == f"/admin/library/book/{Book.objects.latest('pk').pk}/change/"


def test_the_import_page_leads_to_cataloguing_one_book(admin_client_librarian):
    """Nothing on the site led to adding one book: a librarian had to know the admin's address (routine walk)."""
    page = admin_client_librarian.get("/catalog/import").content.decode()

    assert 'id="add-book-link"' in page and 'href="/admin/library/book/add/"' in page


def test_paper_str_is_its_title():
    assert str(paper_create(title="案例分析")) == "案例分析"


def test_admin_refuses_to_delete_copies_in_circulation(admin_client_librarian, book):
    copy = Copy.objects.get(barcode="FG0001")
    Copy.objects.filter(pk=copy.pk).update(status=Copy.Status.ON_LOAN)
    response = admin_client_librarian.post(f"/admin/library/copy/{copy.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    response = admin_client_librarian.post(f"/admin/library/book/{book.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    admin_client_librarian.post("/admin/library/copy/", {"action": "delete_selected", "_selected_action": [copy.pk],
                                                          "post": "yes"})
    assert Copy.objects.filter(pk=copy.pk).exists() and Book.objects.filter(pk=book.pk).exists()


def test_admin_deletes_copies_on_the_shelf(admin_client_librarian, book):
    copy = Copy.objects.get(barcode="FG0001")
    response = admin_client_librarian.post(f"/admin/library/copy/{copy.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Copy.objects.filter(pk=copy.pk).exists()


# --- circulation in the admin ------------------------------------------------------------------------


@pytest.fixture
def lent(book, judge, librarian):
    from library.circulation import loan_checkout

    return loan_checkout(patron=judge, actor=librarian, book=book)


@pytest.mark.parametrize(
    "path",
    ["/admin/library/loan/", "/admin/library/hold/", "/admin/library/loanpolicy/", "/admin/library/closedday/",
     "/admin/notices/notice/", "/admin/library/circulationevent/", "/admin/library/loanpolicy/add/",
     "/admin/library/closedday/add/"],
)
def test_circulation_pages_render(admin_client_librarian, lent, path):
    assert admin_client_librarian.get(path).status_code == 200


def test_loans_cannot_be_added_or_deleted_by_hand(admin_client_librarian, lent):
    assert admin_client_librarian.get("/admin/library/loan/add/").status_code == 403
    assert admin_client_librarian.get(f"/admin/library/loan/{lent.pk}/delete/").status_code == 403


def test_due_date_override_is_recorded(admin_client_librarian, lent):
    from library.models import CirculationEvent, Loan

    response = admin_client_librarian.post(f"/admin/library/loan/{lent.pk}/change/", {"due_date": "2027-02-01"})
    assert response.status_code == 302
    assert str(Loan.objects.get(pk=lent.pk).due_date) == "2027-02-01"
    event = CirculationEvent.objects.get(action="override")
    assert (event.channel, event.actor.username, event.detail["new"]) == ("admin", "librarian1", "2027-02-01")


def test_return_action_goes_through_circulation(admin_client_librarian, lent):
    from library.models import CirculationEvent, Loan

    response = admin_client_librarian.post(
        "/admin/library/loan/", {"action": "return_selected", "_selected_action": [lent.pk]}
    )
    assert response.status_code == 302
    assert Loan.objects.get(pk=lent.pk).status == "returned"
    assert Copy.objects.get(barcode="FG0001").status == Copy.Status.AVAILABLE
    assert CirculationEvent.objects.filter(action="return", channel="admin").count() == 1


def test_copy_back_from_repair_in_the_admin_goes_to_the_waiting_hold(admin_client_librarian, book, judge, librarian):
    from library.circulation import hold_place
    from library.models import Hold
    from library.services import copy_update

    copy_update(copy=Copy.objects.get(barcode="FG0001"), changes={"status": Copy.Status.REPAIR})
    hold = hold_place(patron=judge, book=book, actor=judge)
    copy = Copy.objects.get(barcode="FG0001")
    response = admin_client_librarian.post(
        f"/admin/library/copy/{copy.pk}/change/",
        {"book": book.pk, "barcode": "FG0001", "location": "院本部", "shelf": "", "status": "available",
         "acquired_on": "", "note": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Copy.objects.get(pk=copy.pk).status == Copy.Status.ON_HOLD_SHELF
    assert Hold.objects.get(pk=hold.pk).status == "ready"


# --- single-line fields (issue 13): the admin refuses line breaks and control characters, naming the field --


@pytest.mark.parametrize("value", ["民法\r\n物权", "民法\n物权", "民法\t物权", "民法\x1b物权", "民法\x85物权", "民法\u2028物权"])
def test_admin_refuses_a_book_title_on_two_lines_naming_the_field(admin_client_librarian, book, value):
    url = f"/admin/library/book/{book.pk}/change/"
    form = admin_form_data(admin_client_librarian, url)
    form.update(title=[value])

    response = admin_client_librarian.post(url, form)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"title": [MESSAGE]}
    assert Book.objects.get(pk=book.pk).title == "民法物权"


@pytest.mark.parametrize("url, field", [
    ("/admin/library/book/{book}/change/", "subtitle"),
    ("/admin/library/book/{book}/change/", "publisher"),
    ("/admin/library/book/{book}/change/", "edition"),
    ("/admin/library/book/{book}/change/", "call_number"),
    ("/admin/library/copy/{copy}/change/", "location"),
    ("/admin/library/copy/{copy}/change/", "shelf"),
    ("/admin/library/paper/{paper}/change/", "title"),
    ("/admin/library/paper/{paper}/change/", "venue"),
    ("/admin/library/paper/{paper}/change/", "awards"),
    ("/admin/library/closedday/add/", "name"),
    ("/admin/library/loanpolicy/add/", "location"),
])
def test_admin_refuses_line_breaks_in_every_single_line_field(superuser_client, book, url, field):
    paper = paper_create(title="调研报告", authors=["李四"])
    url = url.format(book=book.pk, copy=book.copies.get().pk, paper=paper.pk)
    form = admin_form_data(superuser_client, url)
    form.update({field: ["第一行\r\n第二行"], "date": ["2026-10-01"]})

    response = superuser_client.post(url, form)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {field: [MESSAGE]}


@pytest.mark.parametrize("url, inline_field, value", [
    ("/admin/library/book/{book}/change/", "contributors-0-name", "王泽\n鉴"),
    ("/admin/library/paper/{paper}/change/", "paper_authors-0-name", "李\r\n四"),
])
def test_admin_refuses_line_breaks_in_inline_names(superuser_client, book, url, inline_field, value):
    paper = paper_create(title="调研报告", authors=["李四"])
    url = url.format(book=book.pk, paper=paper.pk)
    form = admin_form_data(superuser_client, url)
    form[inline_field] = [value]

    response = superuser_client.post(url, form)

    assert response.status_code == 200
    errors = [e for formset in response.context["inline_admin_formsets"] for e in formset.formset.errors if e]
    assert errors == [{"name": [MESSAGE]}]


def test_book_subjects_and_paper_keywords_are_single_line_terms():
    book = Book(title="民法", subjects=["物权", "债\n权"])
    paper = Paper(title="调研", keywords=["\x1b"])

    with pytest.raises(ValidationError) as book_refused:
        book.full_clean()
    with pytest.raises(ValidationError) as paper_refused:
        paper.full_clean()

    assert (book_refused.value.message_dict, paper_refused.value.message_dict) == (
        {"subjects": [MESSAGE]}, {"keywords": [MESSAGE]})
