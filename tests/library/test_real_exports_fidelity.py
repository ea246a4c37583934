"""What a real record says is kept and shown (issue 18, §1 Fidelity, the routine walk's leftovers): names in the
original script beside their romanised headings (MARC 21 880 linked by $6 to 100/110/700/710, CNMARC 70X/71X $A),
parallel and other titles (246 with its 880, UNIMARC 200 $d, 510-517), the Library of Congress's spaces between
Chinese and Japanese words gone, the publisher's original script with its romanised form apart, the language by
name, and the statement of responsibility (245 $c, 200 $f).

Committed records (tests/fixtures/realdata, dp2's CNMARC/UNIMARC among them) always run; Open Library's
records, fetched this session (``more``, AGPL, not committed), skip where absent.  Expected values were read off the records' own fields (dumped with pymarc)."""

import hashlib
import io
import json
import unicodedata

import pytest
from django.test import Client
from pymarc import Field, Indicators, Record, Subfield

from library import services
from library.exporters import export_catalog
from library.importers import BOOK_FIELDS, book_fingerprint, cjk_unspaced, import_catalog, read_file
from library.models import Book, Contributor
from search_index import services as search_services
from search_index.services import Filters
from tests.conftest import apply_index_outbox
from tests.realdata import more, shared

pytestmark = pytest.mark.django_db

AUTHOR, EDITOR, TRANSLATOR = Contributor.Role.AUTHOR, Contributor.Role.EDITOR, Contributor.Role.TRANSLATOR
Person = services.Person
AZDOUD_OTHER_TITLES = [
    "ⵜⵉⵎⵙⵜⵉⵢⵉⵏ ⵏ ⵡⴰⵏⵣⵉⵡ ⵏ ⵜⵎⴰⵣⵉⵖⵜ",  # 880 246-02, the Tifinagh form of 246 31 …
    "Timstiyin n wanziw n tmazig̳t",  # … whose romanised form follows it
    "Timstiyin n wanziw n tmaziɣt",  # 246 3_ (another spelling, no 880)
    "ⵜⴰⴷⵍⴰ ⵏ ⵡⴰⵏⵣⵉⵡⵏ ⵉⵎⴰⵣⵉⵖⵏ = Choix de proverbs amazighes",  # 880 246-03: $a "… =" $b
    "Tadla n wanziwn imazig̳n = Choix de proverbs amazighes",  # 246 14 (cover title)
    "Tadla n wanziwn imaziɣn",  # 246 3_
]


def entries(path) -> list:
    return [parse() for _number, parse in read_file(data=path.read_bytes()).items]


def nfc(value):
    """``value`` (text, or a list or tuple of texts) composed: MARC-8 records give "ī" as i + a combining macron,
    and the importer keeps the letters as the record has them."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    return type(value)(*map(nfc, value)) if isinstance(value, Person) else type(value)(map(nfc, value))


def imported(path) -> Book:
    summary = import_catalog(data=path.read_bytes())
    assert summary.created == 1, summary.errors
    return Book.objects.get(pk=summary.outcomes[0].book_id)


def page(book: Book, language: str = "zh-hans") -> str:
    return Client(HTTP_ACCEPT_LANGUAGE=language).get(f"/books/{book.pk}").content.decode()


def found(query: str) -> list[int]:
    return [hit.id for hit in search_services.search(query, filters=Filters()).items]


# --- 1. original-script names, both forms kept, shown and searched -------------------------------------------

def test_japanese_880_names_are_kept_in_the_original_script_beside_their_romanised_headings():
    (entry,) = entries(more("openlibrary/880_Nihon_no_chasho.mrc"))

    # 700 $6 880-04 ↔ 880 $6 700-04 "林屋 辰三郎,$d1914-1998." (LC's word space gone, the dates not a name).
    assert nfc(entry.people) == [Person("林屋辰三郎", AUTHOR, "Hayashiya, Tatsusaburō"),
                            Person("横井清", AUTHOR, "Yokoi, Kiyoshi"),
                            Person("楢林忠男", AUTHOR, "Narabayashi, Tadao")]


def test_arabic_880_names_pair_by_occurrence_number_and_a_710_body_is_kept_with_its_subdivision():
    (entry,) = entries(more("openlibrary/880_arabic_french_many_linkages.mrc"))

    assert nfc(entry.people) == [
        Person("مودن، عبد الرحمن", AUTHOR, "El Moudden, Abderrahmane"),
        # MARC-8's decomposed "ī" (i + combining macron) is one letter: the heading's final period goes.
        Person("بنحادة، عبد الرحيم", AUTHOR, "Bin-Ḥāddah, ʻAbd al-Raḥīm"),
        Person("غربي، محمد لزهر", AUTHOR, "Gharbi, Mohamed Lazhar"),
        Person("جامعة محمد الخامس. كلية الآداب و العلوم الإنسانية", AUTHOR,
               "Jāmiʻat Muḥammad al-Khāmis. Kullīyat al-Ādāb wa-al-ʻUlūm al-Insānīyah"),
    ]


def test_cnmarc_70x_and_71x_names_keep_their_pinyin():
    records = entries(shared("dp2/sample_unimarcxml.xml"))

    assert records[9].people == [Person("季野", EDITOR, "Ji Ye"), Person("张西明", EDITOR, "Zhang Xi Ming"),
                                 Person("曲克敏", EDITOR, "Qu Ke Min")]
    assert records[1].people == [Person("国家统计局", EDITOR, "Guo Jia Tong Ji Ju")]  # a 711 body, $4 编


def test_both_forms_of_a_name_are_stored_shown_original_first_and_searchable():
    search_services.index_rebuild()
    book = imported(more("openlibrary/880_Nihon_no_chasho.mrc"))
    apply_index_outbox()

    assert [nfc(c) for c in book.contributors.values_list("name", "name_romanized")] == [
        ("林屋辰三郎", "Hayashiya, Tatsusaburō"), ("横井清", "Yokoi, Kiyoshi"), ("楢林忠男", "Narabayashi, Tadao")]
    html = nfc(page(book))
    assert '<bdi>林屋辰三郎</bdi><span class="romanized" lang="und-Latn">（Hayashiya, Tatsusaburō）</span>' in html
    for query in ("林屋辰三郎", "Hayashiya", "Narabayashi Tadao"):
        assert found(query) == [book.pk], query


def test_a_record_linked_880_name_on_a_committed_record_is_kept_too():
    """marc4j's Cyrillic record: 100 $6 880-01 with the Cyrillic heading in its 880."""
    book = Book.objects.get(pk=import_catalog(data=shared("marc4j_cyrillic_capital_e.mrc").read_bytes()).outcomes[0]
                            .book_id)

    assert list(book.contributors.values_list("name", "name_romanized")) == [("Буйда, Юрий", "Buĭda, I︠U︡riĭ")]


# --- 2. parallel and other titles ---------------------------------------------------------------------------

def test_tifinagh_parallel_titles_of_246_and_880_are_kept_original_script_first():
    (entry,) = entries(shared("marc4j_azdoud.xml"))

    assert entry.values["other_titles"] == AZDOUD_OTHER_TITLES


def test_other_titles_are_shown_and_searchable_in_either_script():
    search_services.index_rebuild()
    book = imported(shared("marc4j_azdoud.xml"))
    apply_index_outbox()

    assert book.other_titles == AZDOUD_OTHER_TITLES
    html = page(book)
    shown = html[html.index('id="other-titles"'):]
    assert shown.index("ⵜⵉⵎⵙⵜⵉⵢⵉⵏ ⵏ ⵡⴰⵏⵣⵉⵡ ⵏ ⵜⵎⴰⵣⵉⵖⵜ") < shown.index("Timstiyin n wanziw n tmazig̳t") < shown.index("</p>")
    assert "其他题名：<bdi>ⵜⵉⵎⵙⵜⵉⵢⵉⵏ ⵏ ⵡⴰⵏⵣⵉⵡ ⵏ ⵜⵎⴰⵣⵉⵖⵜ</bdi>；<bdi>Timstiyin" in html
    for query in ("ⵜⵉⵎⵙⵜⵉⵢⵉⵏ", "Timstiyin", "Tadla"):
        assert found(query) == [book.pk], query


def test_a_french_parallel_title_of_an_arabic_book_is_kept():
    (entry,) = entries(more("openlibrary/880_arabic_french_many_linkages.mrc"))

    assert nfc(entry.values["other_titles"]) == [
        "Transmission des idées et des techniques au Maghreb et en Méditerranée"]


def test_unimarc_510_and_517_titles_are_other_titles():
    records = entries(shared("dp2/sample_cnmarcxml.xml"))

    # 510 (parallel title, $z eng) and 517 (other variant title) of the '97, '98 and '92 yearbooks.
    assert [r.values.get("other_titles") for r in records[3:8]] == [
        None, ["China Development Report"], ["China development report 1998", "中国发展报告"],
        ["China Development Report 1999"], ["中国发展报告"]]


def test_a_marc21_246_without_880_is_an_other_title_and_one_repeating_the_title_is_not():
    (first, *_rest) = entries(shared("marc4j_brkrtest.mrc"))
    assert first.values["other_titles"] == ["New test record number one with ordinary data"]
    (koha,) = entries(shared("marc4j_1474920681_KOHA_LFL_5.xml"))
    assert "other_titles" not in koha.values


# --- 3. LC's word spaces ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("spaced", "unspaced"), [
    ("日本 の 茶書", "日本の茶書"),
    ("林屋 辰三郎, 横井 清, 楢林 忠男 編注", "林屋辰三郎, 横井清, 楢林忠男編注"),
    ("東洋 文庫 ; 201", "東洋文庫 ; 201"),
    ("中国 法律 与 社会 : 研究", "中国法律与社会 : 研究"),
    ("Windows 10 入门 指南", "Windows 10 入门指南"),  # a space next to a Latin word or a digit stays
    ("「日本 の 茶書」 について", "「日本の茶書」について"),  # CJK brackets are CJK
    ("한국 의 역사", "한국 의 역사"),  # Korean separates words with spaces: kept
    ("Nihon no chasho", "Nihon no chasho"),
])
def test_spaces_between_chinese_and_japanese_words_are_removed(spaced, unspaced):
    assert cjk_unspaced(spaced) == unspaced


def test_the_880_title_publisher_and_names_are_stored_without_lc_word_spaces():
    (entry,) = entries(more("openlibrary/880_Nihon_no_chasho.mrc"))

    assert (entry.values["title"], entry.values["title_romanized"]) == ("日本の茶書", "Nihon no chasho")
    assert (entry.values["publisher"], entry.values["publisher_romanized"]) == ("平凡社", "Heibonsha")


def test_a_record_that_keeps_its_text_as_written_keeps_its_spaces():
    """Leader/18 "c" (ISBD punctuation omitted, as this catalogue's exports write): the 880 holds the title as
    the book has it, spaces included, and reads back the same."""
    record = Record(force_utf8=True, leader="00000nam a2200000 c 4500")
    record.add_field(Field(tag="245", indicators=Indicators("0", "0"),
                           subfields=[Subfield("6", "880-01"), Subfield("a", "Minfa zonglun")]),
                     Field(tag="880", indicators=Indicators("0", "0"),
                           subfields=[Subfield("6", "245-01"), Subfield("a", "民法 总论")]))

    (entry,) = [parse() for _n, parse in read_file(data=record.as_marc()).items]

    assert entry.values["title"] == "民法 总论"


# --- 4. the publisher's original script, its romanised form apart -------------------------------------------

def test_the_publisher_is_stored_in_the_original_script_and_its_romanised_form_shown_beside_it(librarian_api):
    book = imported(more("openlibrary/880_Nihon_no_chasho.mrc"))

    assert (book.publisher, book.publisher_romanized) == ("平凡社", "Heibonsha")
    html = page(book)
    assert '<bdi id="publisher">平凡社</bdi><span class="romanized" lang="und-Latn">（Heibonsha）</span>' in html
    assert " = Heibonsha" not in html
    data = librarian_api.get(f"/api/v1/books/{book.pk}").json()
    assert (data["publisher"], data["publisher_romanized"]) == ("平凡社", "Heibonsha")


def test_a_chinese_880_publisher_comes_apart_from_its_pinyin():
    (entry,) = entries(more("openlibrary/880_alternate_script.mrc"))

    assert (entry.values["publisher"], entry.values["publisher_romanized"]) == ("中信出版社", "Zhong xin chu ban she")


def test_an_arabic_publisher_loses_its_final_arabic_comma():
    (entry,) = entries(more("openlibrary/880_arabic_french_many_linkages.mrc"))

    assert nfc(entry.values["publisher"]) == nfc("جامعة محمد الخامس، كلية الآداب و العلوم الانسانية")
    assert nfc(entry.values["publisher_romanized"]) == (
        "Jāmiʻat Muḥammad al-Khāmis, Kullīyat al-Ādāb wa-al-ʻUlūm al-Insānīyah")


# --- 5. the language, by name ---------------------------------------------------------------------------------

def _record_in(code: str) -> bytes:
    record = Record(force_utf8=True, leader="00000nam a2200000 a 4500")
    record.add_field(Field(tag="008", data=f"240101s2024    xx            000 0 {code} d"),
                     Field(tag="245", indicators=Indicators("0", "0"), subfields=[Subfield("a", f"Book in {code}")]))
    return record.as_marc()


@pytest.mark.parametrize(("code", "chinese", "english"), [
    ("chi", "中文", "Chinese"), ("mon", "蒙古文", "Mongolian"), ("eng", "英文", "English"), ("jpn", "日文", "Japanese"),
])
def test_the_language_is_shown_by_name_on_the_page_and_in_the_api(code, chinese, english, anon_api):
    import_catalog(data=_record_in(code))
    book = Book.objects.get()

    assert f'<span id="book-language">语种：{chinese}</span>' in page(book)
    assert f'<span id="book-language">Language: {english}</span>' in page(book, "en")
    data = anon_api.get(f"/api/v1/books/{book.pk}").json()
    english_data = anon_api.get(f"/api/v1/books/{book.pk}", headers={"Accept-Language": "en"}).json()
    assert (data["language_name"], english_data["language_name"]) == (chinese, english)


def test_a_book_of_unknown_language_shows_none():
    import_catalog(data=_record_in("   "))
    book = Book.objects.get()

    assert book.language == ""
    assert 'id="book-language"' not in page(book)


def test_a_real_japanese_record_shows_its_language():
    book = imported(more("openlibrary/880_Nihon_no_chasho.mrc"))

    assert '<span id="book-language">语种：日文</span>' in page(book)


# --- 6. the statement of responsibility -----------------------------------------------------------------------

def test_cnmarc_200_f_is_the_statement_of_responsibility_and_shown_under_the_title():
    summary = import_catalog(data=shared("dp2/sample_cnmarcxml.xml").read_bytes())
    first, last = (Book.objects.get(pk=summary.outcomes[n].book_id) for n in (0, 9))

    assert (first.responsibility, last.responsibility) == ("国家统计局编", "主编季野, 张西明, 张弢...[等]")
    html = page(first)
    assert html.index("&#x27;94中国发展报告</h1>") < html.index(
        '<p class="responsibility" id="responsibility" dir="auto">国家统计局编</p>') < html.index('class="meta"')


def test_marc21_245_c_is_the_statement_of_responsibility_in_the_original_script_when_there_is_one():
    (brkrtest, *_rest) = entries(shared("marc4j_brkrtest.mrc"))
    (japanese,) = entries(more("openlibrary/880_Nihon_no_chasho.mrc"))
    (chinese,) = entries(more("openlibrary/880_alternate_script.mrc"))

    assert brkrtest.values["responsibility"] == "by Jane Deer-Doe ; edited by Patty O'Furniture"
    assert japanese.values["responsibility"] == "林屋辰三郎, 横井清, 楢林忠男編注"
    assert chinese.values["responsibility"] == "丹尼尔・莱昂斯著 ; 刘宁译"


def test_the_statement_of_responsibility_is_in_the_api_and_searchable(anon_api):
    search_services.index_rebuild()
    book = imported(shared("marc4j_azdoud.xml"))
    apply_index_outbox()

    data = anon_api.get(f"/api/v1/books/{book.pk}").json()
    assert data["responsibility"] == "Driss Azdoud = ⵜⵉⵎⵙⵜⵉⵢⵉⵏ ⵏ ⵡⴰⵏⵣⵉⵡ ⵏ ⵜⵎⴰⵣⵉⵖⵜ / ⴰⵥⴹⵓⴹ ⴷⵔⵉⵙ"
    assert found("ⴰⵥⴹⵓⴹ") == [book.pk]


# --- the new fields through the API, exports and decisions ---------------------------------------------------

FULL = {
    "title": "日本の茶書", "title_romanized": "Nihon no chasho", "other_titles": ["茶書集成", "Chasho shūsei"],
    "responsibility": "林屋辰三郎編注", "publisher": "平凡社", "publisher_romanized": "Heibonsha", "year": 1971,
    "language": "ja",
}


def test_the_api_writes_and_reads_the_new_fields(librarian_api):
    response = librarian_api.post("/api/v1/books", {
        **FULL, "contributors": [{"name": "林屋辰三郎", "name_romanized": "Hayashiya, Tatsusaburō", "role": "editor"}]})

    assert response.status_code == 201, response.json()
    data = response.json()
    assert {name: data[name] for name in FULL} == FULL
    assert (data["language_name"], data["contributors"]) == (
        "日文", [{"name": "林屋辰三郎", "role": "editor", "name_romanized": "Hayashiya, Tatsusaburō"}])
    patched = librarian_api.patch(f"/api/v1/books/{data['id']}", {"other_titles": ["茶書集成"], "responsibility": ""})
    assert (patched.json()["other_titles"], patched.json()["responsibility"]) == (["茶書集成"], "")


def test_an_other_title_on_two_lines_is_refused_by_the_api(librarian_api):
    response = librarian_api.post("/api/v1/books", {"title": "x", "other_titles": ["a\nb"]})

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "other_titles.0"


def _full_book() -> Book:
    return services.book_create(**FULL, contributors=[Person("林屋辰三郎", EDITOR, "Hayashiya, Tatsusaburō"),
                                                      Person("横井清", AUTHOR, "Yokoi, Kiyoshi")])


def _kept(book: Book) -> dict:
    return {**{name: getattr(book, name) for name in FULL},
            "people": list(book.contributors.values_list("name", "role", "name_romanized"))}


@pytest.mark.parametrize("fmt", ["marc21", "marcxml", "csv", "unimarc"])
def test_an_export_carries_the_new_fields_back(fmt):
    before = _kept(_full_book())
    stream = io.BytesIO()
    export_catalog(format=fmt, stream=stream)
    Book.objects.all().delete()

    import_catalog(data=stream.getvalue())

    after = _kept(Book.objects.get())
    if fmt == "csv":  # an authors cell holds names and roles only
        before["people"] = [(name, role, "") for name, role, _romanized in before["people"]]
    if fmt == "unimarc":  # UNIMARC has no place for the publisher's romanised form
        before["publisher_romanized"] = ""
    assert after == before


def test_marc21_export_links_each_romanised_field_to_its_880():
    from pymarc import MARCReader

    _full_book()
    stream = io.BytesIO()
    export_catalog(format="marc21", stream=stream)

    (record,) = list(MARCReader(stream.getvalue(), to_unicode=True, force_utf8=True))
    linked = [(f.tag, f["6"], f.get("a") or f.get("b")) for f in record.fields if f.tag != "880" and f.get("6")]
    originals = [(f["6"], f.get("a") or f.get("b")) for f in record.get_fields("880")]

    # The romanised form in its field, the original script in the 880 with the same occurrence number.
    assert linked == [("245", "880-01", "Nihon no chasho"), ("264", "880-02", "Heibonsha"),
                      ("700", "880-03", "Hayashiya, Tatsusaburō"), ("700", "880-04", "Yokoi, Kiyoshi")]
    assert originals == [("245-01", "日本の茶書"), ("264-02", "平凡社"), ("700-03", "林屋辰三郎"), ("700-04", "横井清")]
    assert record["880"]["c"] == "林屋辰三郎編注"
    assert [f["a"] for f in record.get_fields("246")] == ["茶書集成", "Chasho shūsei"]


def test_a_conflicts_fingerprint_is_unchanged_for_a_book_without_the_new_fields():
    """A conflict kept before these fields existed still matches its unchanged book (the decision applies)."""
    book = services.book_create(title="民法总论", year=2020, contributors=[Person("王泽鉴")])
    before_fields = [name for name in BOOK_FIELDS if name not in ("other_titles", "responsibility", "publisher_romanized")]
    data = [[name, getattr(book, name)] for name in before_fields] + [[["王泽鉴", "author"]]]

    assert book_fingerprint(book) == hashlib.sha256(json.dumps(data, default=str, ensure_ascii=False).encode()).hexdigest()


def test_a_replace_decision_writes_the_romanised_names():
    from library.importers import apply_decision

    book = services.book_create(title="日本の茶書", contributors=[Person("林屋")])
    record = {"values": {"title": "日本の茶書"}, "people": [["林屋辰三郎", "author", "Hayashiya, Tatsusaburō"],
                                                            ["横井清", "author"]],
              "holdings": [], "location": None}

    apply_decision(book=book, record=record, action="replace")

    assert list(book.contributors.values_list("name", "name_romanized")) == [
        ("林屋辰三郎", "Hayashiya, Tatsusaburō"), ("横井清", "")]


def test_unimarc_200_d_parallel_titles_and_200_g_statements_are_kept():
    """Built on the dp2 record's shape (no real record at hand has 200 $d or $g)."""
    from tests.library.test_real_exports import _field, _unimarc_xml

    data = _unimarc_xml(_field("200", ("a", "法律与文学"), ("d", "= Law and literature"), ("f", "波斯纳著"),
                               ("g", "李国庆译")),
                        _field("517", ("a", "法律与文学"), ("e", "令人困扰的关系")))

    (entry,) = [parse() for _n, parse in read_file(data=data).items]

    assert entry.values["other_titles"] == ["Law and literature", "法律与文学 : 令人困扰的关系"]
    assert entry.values["responsibility"] == "波斯纳著 ; 李国庆译"


def test_the_admin_form_edits_other_titles_one_per_line():
    from library.admin import BookForm

    book = services.book_create(title="日本の茶書", other_titles=["茶書集成", "Chasho shūsei"])
    assert BookForm(instance=book)["other_titles"].value() == "茶書集成\nChasho shūsei"

    form = BookForm(instance=book, data={"title": "日本の茶書", "other_titles": " 茶書集成 \r\n\r\nChasho\r\n",
                                         "language": "ja", "subjects": "[]"})

    assert form.is_valid(), form.errors
    assert form.save().other_titles == ["茶書集成", "Chasho"]
