"""The first searches of a freshly started gunicorn: how long they take, and how long the server takes to start.

Not part of the test run.  Starts ``gunicorn shuyuan.wsgi:application`` (one worker, so that the first request
is that worker's first) on an existing installation — by default the demo of ``make run`` — waits until
``/healthz`` answers, then sends each query of ``QUERIES`` once (each the first of its kind in the process) and
the first again (warm), and stops the server.  ``--app`` runs another checkout of the code (the state before a
change: ``git archive <commit> | tar -x -C /tmp/before``) on the same installation, so the two can be compared
in one run, alternating.  Prints a table; docs/performance.md, "The first search of a process", has the
figures.

    .venv/bin/python bench/first_request_bench.py --database sqlite:////path/db.sqlite3 --index /path/index \\
        --app /tmp/before --app . --runs 5
"""

import argparse
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The first search of a process, its first misheard Chinese query (did-you-mean reads pypinyin's readings),
#: a name (looked up as written in pinyin), a law's short form, a citation, then the first query again.
QUERIES = ["担保物权", "担保无权", "王利明", "民诉法", "民法典第394条", "担保物权"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, float]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    return status, time.perf_counter() - started


def one_run(app: Path, args) -> dict:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": args.database, "SEARCH_INDEX_DIR": args.index, "DEBUG": "True",
           "CACHE_DIR": args.cache, "SEARCH_RATE_ANONYMOUS": "0", "LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "gunicorn", "shuyuan.wsgi:application", "--workers", "1",
               "--bind", f"127.0.0.1:{port}", "--error-logfile", "-", "--timeout", "120"]
    if args.preload:
        command.insert(4, "--preload")
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=app, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=5).read()
                break
            except OSError:
                if proc.poll() is not None or time.perf_counter() - started > 120:
                    raise SystemExit(f"gunicorn did not start in {app}") from None
                time.sleep(0.05)
        up = time.perf_counter() - started
        times = []
        for query in QUERIES:
            status, seconds = get(f"{base}/api/v1/search?" + urllib.parse.urlencode({"q": query}))
            times.append((status, seconds))
        return {"up": up, "times": times}
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="DATABASE_URL of an installation with an index")
    parser.add_argument("--index", required=True, help="its SEARCH_INDEX_DIR")
    parser.add_argument("--cache", default="/tmp/first-request-bench-cache")
    parser.add_argument("--app", action="append", type=Path, help="a checkout of the code (repeatable)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--preload", action="store_true", help="gunicorn --preload (as make serve)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    apps = args.app or [ROOT]
    results: dict[str, list[dict]] = {str(app): [] for app in apps}
    for _ in range(args.runs):
        for app in apps:  # alternating, so that a change in the machine's load reaches both
            results[str(app)].append(one_run(app.resolve(), args))
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(f"gunicorn, 1 worker{' (--preload)' if args.preload else ''}; {args.runs} runs each; load average "
          f"{' '.join(load)} at the end; seconds, median (min–max)")
    header = ["code", "start → /healthz", *[f"{i + 1}. {q}" for i, q in enumerate(QUERIES)]]
    print(" | ".join(header))
    for app, runs in results.items():
        def cell(values):
            return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"

        statuses = {s for r in runs for s, _t in r["times"]}
        row = [app, cell([r["up"] for r in runs])]
        row += [cell([r["times"][i][1] for r in runs]) for i in range(len(QUERIES))]
        print(" | ".join(row) + ("" if statuses == {200} else f"  statuses {sorted(statuses)}"))
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
