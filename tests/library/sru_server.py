"""A tiny SRU server for the copy-cataloguing tests: a real HTTP server on 127.0.0.1 (a thread of the test
process) that answers each request with the response a test set for its CQL query, and remembers every
request it saw (so a test asserts the query the other library would have received).

Answers are saved real responses (tests/realdata.py ``shared()``: dp2's and sruthi's, README there) or ones
built here: ``search_response`` wraps MARC21, CNMARC or DC records in an SRU 1.2 searchRetrieveResponse,
``diagnostic_response`` answers with a diagnostic (no real zero-hit or diagnostic response under a licence that
lets us commit it was found: tests/fixtures/realdata/README.md).  A query with no answer set gets zero hits.
"""

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import pytest

SRW = "http://www.loc.gov/zing/srw/"


@dataclass
class Answer:
    body: bytes
    status: int = 200
    delay: float = 0.0  # seconds before the body is sent
    with_length: bool = True  # False: no Content-Length, the body ends when the connection closes
    location: str = ""  # a redirect's target


class SruServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.answers: dict[str, Answer] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                params = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                params["_path"] = urlsplit(self.path).path
                server.requests.append(params)
                key = params.get("query") or params.get("operation", "explain")
                answer = server.answers.get(key) or Answer(search_response([], total=0).encode())
                if answer.delay:
                    time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "text/xml; charset=utf-8")
                    if answer.location:
                        self.send_header("Location", answer.location)
                    if answer.with_length:
                        self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout or a size cap): what the test wanted

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        # Polled every 50 ms for shutdown (the default half second was added to every test's teardown).
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/sru"

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    def answer(self, key: str, body: bytes | str, **options) -> None:
        """Answer requests whose CQL ``query`` is ``key`` ("explain" for an explain request) with ``body``."""
        self.answers[key] = Answer(body.encode() if isinstance(body, str) else body, **options)

    def queries(self) -> list[str]:
        return [r["query"] for r in self.requests if "query" in r]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def sru_server(settings):
    """The local SRU server, listed in SRU_INTERNAL_HOSTS (its host:port, as an operator lists a server on the
    court's network): a target marked 位于法院内网 at its address is trusted."""
    server = SruServer()
    settings.SRU_INTERNAL_HOSTS = [*settings.SRU_INTERNAL_HOSTS, server.endpoint]
    yield server
    server.close()


# --- responses built in the tests ------------------------------------------------------------------------------


def search_response(records: list[str], *, total: int | None = None, schema: str = "marcxml",
                    packing: str = "xml", start: int = 1) -> str:
    """An SRU 1.2 searchRetrieveResponse holding ``records`` (XML strings)."""
    parts = []
    for offset, record in enumerate(records):
        data = escape(record) if packing == "string" else record
        parts.append(f"<record><recordSchema>{schema}</recordSchema><recordPacking>{packing}</recordPacking>"
                     f"<recordData>{data}</recordData><recordPosition>{start + offset}</recordPosition></record>")
    return (f'<?xml version="1.0" encoding="UTF-8"?><searchRetrieveResponse xmlns="{SRW}"><version>1.2</version>'
            f"<numberOfRecords>{len(records) if total is None else total}</numberOfRecords>"
            f"<records>{''.join(parts)}</records></searchRetrieveResponse>")


def diagnostic_response(number: int, details: str = "", message: str = "", *, sru2: bool = False) -> str:
    if sru2:
        return ('<?xml version="1.0"?><sruResponse:searchRetrieveResponse '
                'xmlns:sruResponse="http://docs.oasis-open.org/ns/search-ws/sruResponse" '
                'xmlns:diag="http://docs.oasis-open.org/ns/search-ws/diagnostic">'
                '<sruResponse:version>2.0</sruResponse:version><sruResponse:numberOfRecords>0'
                '</sruResponse:numberOfRecords><sruResponse:diagnostics><diag:diagnostic>'
                f'<diag:uri>info:srw/diagnostic/1/{number}</diag:uri><diag:details>{escape(details)}</diag:details>'
                f'<diag:message>{escape(message)}</diag:message></diag:diagnostic></sruResponse:diagnostics>'
                '</sruResponse:searchRetrieveResponse>')
    return (f'<?xml version="1.0"?><searchRetrieveResponse xmlns="{SRW}"><version>1.2</version>'
            '<numberOfRecords>0</numberOfRecords><diagnostics>'
            '<diagnostic xmlns="http://www.loc.gov/zing/srw/diagnostic/">'
            f'<uri>info:srw/diagnostic/1/{number}</uri><details>{escape(details)}</details>'
            f'<message>{escape(message)}</message></diagnostic></diagnostics></searchRetrieveResponse>')


def _subfields(pairs) -> str:
    return "".join(f'<subfield code="{code}">{escape(value)}</subfield>' for code, value in pairs if value)


def marc21_record(*, title: str, subtitle: str = "", isbn: str = "", author: str = "", publisher: str = "",
                  year: int | None = None, control: str = "", subjects=(), call_number: tuple[str, str] | None = None
                  ) -> str:
    """A MARC21 slim record with the fields copy cataloguing reads."""
    fields = [f'<controlfield tag="001">{escape(control)}</controlfield>'] if control else []
    if year:
        fields.append(f'<controlfield tag="008">200101s{year}    cc            000 0 chi d</controlfield>')
    if isbn:
        fields.append(f'<datafield tag="020" ind1=" " ind2=" ">{_subfields([("a", isbn)])}</datafield>')
    if author:
        fields.append(f'<datafield tag="100" ind1="1" ind2=" ">{_subfields([("a", author)])}</datafield>')
    title_parts = [("a", title + (" :" if subtitle else "")), ("b", subtitle)]
    fields.append(f'<datafield tag="245" ind1="1" ind2="0">{_subfields(title_parts)}</datafield>')
    if publisher or year:
        fields.append('<datafield tag="260" ind1=" " ind2=" ">'
                      f'{_subfields([("b", publisher), ("c", str(year or ""))])}</datafield>')
    fields += [f'<datafield tag="650" ind1=" " ind2="0">{_subfields([("a", s)])}</datafield>' for s in subjects]
    if call_number:
        fields.append(f'<datafield tag="090" ind1=" " ind2=" ">{_subfields(zip("ab", call_number, strict=True))}</datafield>')
    return ('<record xmlns="http://www.loc.gov/MARC21/slim"><leader>00000nam a2200000 a 4500</leader>'
            + "".join(fields) + "</record>")


def dc_record(*, title: str, creators=(), publisher: str = "", date: str = "", identifiers=()) -> str:
    parts = [f"<dc:title>{escape(title)}</dc:title>"]
    parts += [f"<dc:creator>{escape(c)}</dc:creator>" for c in creators]
    if publisher:
        parts.append(f"<dc:publisher>{escape(publisher)}</dc:publisher>")
    if date:
        parts.append(f"<dc:date>{escape(date)}</dc:date>")
    parts += [f"<dc:identifier>{escape(i)}</dc:identifier>" for i in identifiers]
    return ('<srw_dc:dc xmlns:srw_dc="info:srw/schema/1/dc-schema" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            + "".join(parts) + "</srw_dc:dc>")


EXPLAIN = (f'<?xml version="1.0"?><explainResponse xmlns="{SRW}"><version>1.2</version><record>'
           '<recordSchema>http://explain.z3950.org/dtd/2.0/</recordSchema><recordPacking>xml</recordPacking>'
           '<recordData><explain xmlns="http://explain.z3950.org/dtd/2.0/"><databaseInfo><title>测试图书馆目录</title>'
           '</databaseInfo><indexInfo><index><title>ISBN</title><map><name set="bath">isbn</name></map></index>'
           '<index><title>题名</title><map><name set="dc">title</name></map></index></indexInfo></explain>'
           '</recordData></record></explainResponse>')
