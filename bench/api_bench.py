"""API throughput for book pages against Django's own floor (prints figures; asserts nothing).

    .venv/bin/python bench/api_bench.py [--books 5000] [--requests 3000] [--workdir /tmp/shuyuan-api-bench]

Builds a throwaway SQLite catalog (books with contributors, copies, some on loan, some with holds)
and serves, in one process through the whole middleware stack (django.test.Client, DEBUG off):

* ``GET /api/v1/books/{id}`` — django-ninja: auth check, the annotated query
  (``selectors.book_get``: book, contributors, copies, earliest due date, queue length), pydantic
  validation of ``BookOut``, JSON rendering;
* ``GET /bench/bare/books/{id}`` — the reference: a plain Django view running the same query and
  building the same dictionary by hand into a ``JsonResponse`` (bench/api_urls.py, never deployed).

Both are asked for the same random ids in alternating rounds; the ratio is the cost of the API layer
over the framework's floor.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import throwaway_django  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--books", type=int, default=5000)
    p.add_argument("--requests", type=int, default=3000, help="requests per variant")
    p.add_argument("--workdir", default="/tmp/shuyuan-api-bench")
    p.add_argument("--seed", type=int, default=20261125)
    return p.parse_args(argv)


def setup_django(workdir: Path) -> None:
    throwaway_django(workdir)
    from django.conf import settings

    settings.ROOT_URLCONF = "bench.api_urls"


def generate(books: int, seed: int) -> list[int]:
    from django.contrib.auth.models import User
    from django.utils import timezone

    from library.models import Book, Contributor, Copy, Hold, Loan

    rng = random.Random(seed)
    reader = User.objects.create(username="reader")
    rows = [Book(title=f"民法典评注第{i}卷：物权编", subtitle="担保物权", publisher="法律出版社", year=2000 + i % 25,
                 language="zh", clc="D923.2", call_number=f"D923.2/{i}", subjects=["物权", "担保"],
                 summary="系统阐释抵押权、质权与留置权的实现程序。" * 3) for i in range(books)]
    Book.objects.bulk_create(rows, batch_size=1000)
    ids = list(Book.objects.values_list("pk", flat=True))
    Contributor.objects.bulk_create(
        [Contributor(book_id=pk, name=rng.choice(["王利明", "崔建远", "巴特尔"]), role="author", position=k)
         for pk in ids for k in range(2)], batch_size=2000)
    Copy.objects.bulk_create([Copy(book_id=pk, barcode=f"B{pk:06d}{k}", location="法官书苑", shelf=f"A{pk % 40}")
                              for pk in ids for k in range(2)], batch_size=2000)
    lent = rng.sample(ids, len(ids) // 10)
    copies = {c.book_id: c for c in Copy.objects.filter(book_id__in=lent, barcode__endswith="0")}
    Loan.objects.bulk_create([Loan(copy=copies[pk], book_id=pk, patron=reader, borrowed_at=timezone.now(),
                                   due_date=date.today() + timedelta(days=20))
                              for pk in lent], batch_size=2000)
    Copy.objects.filter(pk__in=[c.pk for c in copies.values()]).update(status=Copy.Status.ON_LOAN)
    Hold.objects.bulk_create([Hold(book_id=pk, patron=reader, created_at=timezone.now()) for pk in lent[: len(lent) // 2]])
    return ids


def run(client, paths: list[str]) -> list[float]:
    out = []
    for path in paths:
        t = time.perf_counter()
        response = client.get(path)
        out.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return out


def line(name: str, ms: list[float], wall: float) -> str:
    ms = sorted(ms)
    p95 = ms[int(0.95 * (len(ms) - 1))]
    return (f"{name:<34} {len(ms) / wall:8.0f} req/s   p50 {statistics.median(ms):6.2f} ms   "
            f"p95 {p95:6.2f} ms")


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_django(Path(args.workdir))
    from django.test import Client

    ids = generate(args.books, args.seed)
    client = Client()
    rng = random.Random(args.seed)
    sample = rng.choice(ids)
    api = json.loads(client.get(f"/api/v1/books/{sample}").content)
    bare = json.loads(client.get(f"/bench/bare/books/{sample}").content)
    same = {k for k in api if k not in ("created_at", "updated_at") and api[k] == bare.get(k)}
    assert same == set(api) - {"created_at", "updated_at"}, set(api) - same  # the same data, both ways

    picks = [rng.choice(ids) for _ in range(args.requests)]
    run(client, [f"/api/v1/books/{i}" for i in picks[:200]])  # warm-up
    run(client, [f"/bench/bare/books/{i}" for i in picks[:200]])
    timings = {"api": [], "bare": []}
    walls = {"api": 0.0, "bare": 0.0}
    rounds = 5
    chunk = len(picks) // rounds
    for r in range(rounds):  # alternate, so drift in machine load hits both alike
        part = picks[r * chunk:(r + 1) * chunk]
        for name, prefix in (("api", "/api/v1/books/"), ("bare", "/bench/bare/books/")):
            t = time.perf_counter()
            timings[name] += run(client, [f"{prefix}{i}" for i in part])
            walls[name] += time.perf_counter() - t

    print(f"API benchmark: {len(ids)} books (2 copies each, 10% on loan, 5% with holds), "
          f"{len(timings['api'])} requests per variant, one process, full middleware, DEBUG off; "
          f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    print(line("GET /api/v1/books/{id} (ninja)", timings["api"], walls["api"]))
    print(line("bare JsonResponse, same query", timings["bare"], walls["bare"]))
    api_rate = len(timings["api"]) / walls["api"]
    bare_rate = len(timings["bare"]) / walls["bare"]
    print(f"\nratio: the API serves {api_rate / bare_rate:.2f}× the bare view's throughput "
          f"({statistics.median(timings['api']) - statistics.median(timings['bare']):+.2f} ms per request at p50)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
