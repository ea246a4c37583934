"""The law-name dictionary in the admin refuses names a query would read as syntax (attack on issue 19).

A librarian's short form is put into every query that names the law (民诉法 → ``("民事诉讼法" OR "民诉")``): a form
``民诉 OR 刑诉``, ``cites:f0186a394``, ``"民诉``, ``民诉*`` or ``<b>民诉</b>`` turned into operators, field
prefixes, broken quotes and markup there; a form of one character was saved and silently never used.
"""

import pytest
from django.test import Client
from whoosh import query as wq

from accounts.models import Role
from search_index import laws, searcher
from search_index.admin import LawNameForm, name_problems
from search_index.index_schema import build_schema
from search_index.models import LawName
from tests.admin_forms import admin_form_data
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

CIVIL_PROCEDURE = "f0183"  # 中华人民共和国民事诉讼法


def _form(**changes) -> LawNameForm:
    law = LawName.objects.get(code=CIVIL_PROCEDURE)
    data = {"code": law.code, "title": law.title, "kind": law.kind, "short_forms": law.short_forms,
            "parts": law.parts, "source": law.source, **changes}
    return LawNameForm(data=data, instance=law)


@pytest.mark.parametrize(("typed", "syntax"), [
    ("民诉 OR 刑诉", "OR"), ("民诉 or 刑诉", "OR"), ("民诉And刑诉", "AND"), ("NOT 刑诉", "NOT"), ("民诉 ANDNOT 刑诉", "ANDNOT"),
    ("cites:f0186a394", "cites:"), ("clc：D92", "clc:"), ("author:王利明", "author:"), ("作者:王利明", "作者:"),
    ("民诉:解释", ":"), ('"民诉', '"'), ("“民诉”", "“ ”"), ("民诉(新)", "( )"), ("民诉[新]", "[ ]"), ("民诉{新}", "{ }"),
    ("民诉（新", "（"), ("民诉*", "*"), ("民诉？", "?"), ("民诉~2", "~"), ("民诉^2", "^"), ("-民诉", "-"), ("+民诉", "+"),
    ("<b>民诉</b>", "< >"), ("＜script＞民诉", "< >"),
])
def test_a_short_form_that_is_query_syntax_is_refused_naming_the_field_and_the_syntax(typed, syntax):
    form = _form(short_forms="民诉法\n" + typed)

    assert not form.is_valid()
    message = f"简称“{typed}”含有检索语法 {syntax}：检索时会被读作运算符、字段前缀、通配符或标记，请删去"
    if "(" in syntax:
        message += "（名称中的括号请用全角“（）”）"
    assert form.errors == {"short_forms": [message]}


@pytest.mark.parametrize(("typed", "shown"), [
    ("民\x07诉", "民U+0007诉"), ("民\t诉", "民U+0009诉"), ("民诉\u202e法", "民诉U+202E法"), ("民\u200b诉", "民U+200B诉"),
    ("民\x85诉", "民U+0085诉"),
])
def test_a_short_form_with_control_or_invisible_characters_is_refused(typed, shown):
    form = _form(short_forms=typed)

    assert not form.is_valid()
    assert form.errors == {"short_forms": [f"简称“{shown}”含有控制字符或不可见字符"]}


@pytest.mark.parametrize("typed", ["诉", "《诉》", "Ｓ", "“”"])
def test_a_one_character_short_form_is_refused_because_the_search_ignores_it(typed):
    form = _form(short_forms=f"民诉法\n{typed}")

    assert not form.is_valid()
    if typed == "“”":  # quotes alone are syntax before they are too short
        assert form.errors == {"short_forms": ["简称““””含有检索语法 “ ”：检索时会被读作运算符、字段前缀、通配符或标记，请删去"]}
    else:
        assert form.errors == {"short_forms": [f"简称“{typed}”不足两个字：检索不使用一个字的名称，请写全"]}
    # What the dictionary would have done with it: nothing.
    assert laws.normalize_form(typed) not in laws.LawDictionary([laws.Law("x1", "测试法", short_forms=(typed,))]).forms


def test_every_problem_of_every_field_is_listed_at_once():
    form = _form(title="中华人民共和国民事诉讼法 OR 刑法", short_forms="民诉\n诉\n民诉*", parts="审判编\n编")

    assert not form.is_valid()
    assert form.errors == {
        "title": ["标准名称“中华人民共和国民事诉讼法 OR 刑法”含有检索语法 OR：检索时会被读作运算符、字段前缀、通配符或标记，请删去"],
        "short_forms": ["简称“诉”不足两个字：检索不使用一个字的名称，请写全",
                        "简称“民诉*”含有检索语法 *：检索时会被读作运算符、字段前缀、通配符或标记，请删去"],
        "parts": ["分编“编”不足两个字：检索不使用一个字的名称，请写全"],
    }


def test_official_titles_with_book_title_marks_and_full_width_brackets_are_names():
    """What the official titles hold is allowed: 《》, paired （）, 、 and spaces, digits."""
    form = _form(short_forms="民诉法\n民诉解释（2022年）\n《民诉法》", parts="第一编")

    assert form.is_valid(), form.errors


def test_every_law_of_the_shipped_dictionary_passes_the_admins_rules():
    """The rules refuse nothing of data/laws.csv (1,326 official titles, their short forms and books)."""
    refused = [problem for row in laws.read_csv()
               for name in ("title", "short_forms", "parts")
               for problem in name_problems(name, [row["title"]] if name == "title" else laws.split_forms(row[name]))]

    assert refused == []


def test_a_new_laws_code_is_letters_and_digits():
    data = {"title": "测试条例", "kind": "regulation", "short_forms": "", "parts": "", "source": ""}

    accepted = LawNameForm(data={**data, "code": " X9001 "})
    assert accepted.is_valid() and accepted.cleaned_data["code"] == "x9001"
    refused = LawNameForm(data={**data, "code": "x 1:a"})
    assert not refused.is_valid()
    assert refused.errors == {"code": ["编号只能由小写字母和数字组成，以字母开头，例如 x0001"]}


def test_what_query_syntax_names_the_parser_reads_as_syntax():
    schema = build_schema()

    assert isinstance(searcher.parse("民诉 OR 刑诉", schema, fields=["body"]), wq.Or)
    assert searcher.parse("cites:f0186a394", schema, fields=["body"]) == wq.Term("cites", "f0186a394")
    assert (searcher.query_syntax("民诉 OR 刑诉"), searcher.query_syntax("cites:f0186a394")) == (["OR"], ["cites:"])
    assert searcher.query_syntax("民事诉讼法") == [] and searcher.query_syntax("刑法修正案（十一）") == []


# --- through the admin ---------------------------------------------------------------------------------------


@pytest.fixture
def librarian_client() -> Client:
    client = Client()
    client.force_login(make_user("lawlibrarian", Role.LIBRARIAN))
    return client


def test_a_librarian_saving_a_syntax_short_form_in_the_admin_is_refused_and_nothing_changes(librarian_client):
    law = LawName.objects.get(code=CIVIL_PROCEDURE)
    url = f"/admin/search_index/lawname/{law.pk}/change/"
    data = admin_form_data(librarian_client, url)
    data["short_forms"] = [law.short_forms + "\n民诉 OR 刑诉\n诉"]

    response = librarian_client.post(url, data)

    page = response.content.decode()
    assert response.status_code == 200
    assert "简称“民诉 OR 刑诉”含有检索语法 OR：检索时会被读作运算符、字段前缀、通配符或标记，请删去" in page
    assert "简称“诉”不足两个字：检索不使用一个字的名称，请写全" in page
    assert LawName.objects.get(pk=law.pk).short_forms == law.short_forms


def test_a_librarian_adding_a_law_with_a_field_prefix_in_its_name_is_refused(librarian_client):
    response = librarian_client.post("/admin/search_index/lawname/add/", {
        "code": "x9001", "title": "测试条例", "kind": "regulation", "short_forms": "cites:x9001a1", "parts": "",
        "source": ""})

    assert response.status_code == 200
    assert "简称“cites:x9001a1”含有检索语法 cites:" in response.content.decode()
    assert not LawName.objects.filter(code="x9001").exists()


def test_a_librarian_adding_a_clean_law_saves_it_and_the_search_reads_it(librarian_client):
    response = librarian_client.post("/admin/search_index/lawname/add/", {
        "code": "X9001", "title": "测试条例（2026年）", "kind": "regulation", "short_forms": "测试例", "parts": "",
        "source": "馆员"})

    assert response.status_code == 302
    assert LawName.objects.get(code="x9001").title == "测试条例（2026年）"
    assert laws.current().forms[laws.normalize_form("测试例")][0].code == "x9001"


def test_the_refusal_speaks_english_too():
    from django.utils import translation

    with translation.override("en"):
        form = _form(short_forms="民诉 OR 刑诉\n诉")
        assert not form.is_valid()
        assert form.errors == {"short_forms": [
            "Short forms: “民诉 OR 刑诉” contains query syntax, OR, which a search reads as an operator, a field prefix, "
            "a wildcard or markup; remove it",
            "Short forms: “诉” is shorter than two characters, and the search ignores one-character names; write it in "
            "full"]}
