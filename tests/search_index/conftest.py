import pytest

from library.services import Person, book_create, copy_create, paper_attach_file, paper_create
from search_index import searcher, services


@pytest.fixture(autouse=True)
def _fresh_searcher():
    searcher.reset()
    yield
    searcher.reset()


@pytest.fixture
def log_ids_from_one():
    """The test's change log starts at id 1.  PostgreSQL's sequence stays where a rolled-back test left it, and
    SQLite's AUTOINCREMENT where a flushed (transaction=True) test left it: the ids below the test's first entry
    would be gaps to settle, holding the positions a test compares (rightly, on PostgreSQL: for all a node
    knows, a transaction could still commit them; they settle once every transaction running on the server
    when they were seen has ended, and other test processes on the same server keep transactions open)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT setval(pg_get_serial_sequence('search_index_indexchange', 'id'), 1, false)")
        else:
            cursor.execute("DELETE FROM sqlite_sequence WHERE name = 'search_index_indexchange'")


@pytest.fixture(autouse=True)
def _no_search_rate_limit(settings):
    """The property tests send more searches from one address in a test than a minute allows; the rate
    limit's own tests set it back."""
    settings.SEARCH_RATE_ANONYMOUS = settings.SEARCH_RATE_USER = 0


def build_catalog():
    """A small catalog that exercises every analysis path."""
    records = {}
    b = book_create(
        title="民法物权",
        isbn="9787301048153",
        contributors=[Person("王泽鉴")],
        clc="D923.2",
        year=2009,
        subjects=["物权法", "担保物权"],
        summary="台湾地区民法物权的经典教科书。",
    )
    copy_create(book=b, barcode="A1")
    copy_create(book=b, barcode="A2")
    records["wuquan"] = b
    b = book_create(
        title="担保物权研究",
        contributors=[Person("程啸")],
        clc="D923.2",
        year=2017,
        summary="系统研究抵押权、质权与留置权。",
    )
    copy_create(book=b, barcode="B1")
    records["danbao_book"] = b
    b = book_create(
        title="刑法学",
        isbn="9787511823458",
        contributors=[Person("张明楷")],
        clc="D924",
        year=2021,
        summary="刑法总论与分论。涉及担保物权犯罪的少量讨论。",
    )
    copy_create(book=b, barcode="C1", status="repair")
    records["xingfa"] = b
    records["zhangailing"] = book_create(title="张爱玲与法律", contributors=[Person("陈某")], clc="D90", year=2015)
    records["zhangaijun"] = book_create(title="基层司法调研", contributors=[Person("张爱军")], clc="D926.2", year=2016)
    records["shen"] = book_create(title="沈從文的法律世界", contributors=[Person("李某")], clc="D90", year=2012)
    records["mongol"] = book_create(title="ᠮᠣᠩᠭᠣᠯ ᠬᠡᠯᠡ\u202fᠶᠢᠨ ᠳᠦᠷᠢᠮ", language="mn", clc="D92", year=2019)
    records["english"] = book_create(
        title="Judgment Enforcement in China",
        contributors=[Person("Donald Clarke")],
        language="en",
        clc="D925.1",
        year=2020,
        summary="Courts & <enforcement> practice",
    )
    p = paper_create(
        title="关于担保物权实现程序问题的研究",
        authors=["张明", "李娜"],
        year=2023,
        visibility="public",
        abstract="担保物权实现程序属于非讼程序，本文研究其适用范围。",
        keywords=["担保物权", "实现程序"],
    )
    paper_attach_file(paper=p, data="第一章 绪论。担保物权实现程序的制度价值。".encode(), filename="a.txt")
    records["paper"] = p
    p = paper_create(
        title="草原生态环境司法保护调研",
        authors=["额尔敦"],
        year=2022,
        visibility="public",
        abstract="生态环境案件审理。",
    )
    paper_attach_file(paper=p, data="附带讨论诉调对接机制在牧区的运用。".encode(), filename="b.txt")
    records["grassland"] = p
    records["internal"] = paper_create(
        title="执行难问题内部调研报告", year=2024, visibility="internal", abstract="执行难。"
    )
    return records


@pytest.fixture
def catalog(db):
    records = build_catalog()
    services.index_rebuild()
    return records
