# 法官书苑 — the two commands: `make run` (demo server) and `make test` (the suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/shuyuan
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run serve test test-pg lint check migrate demo clean help bench bench-search bench-feeds bench-api bench-listing bench-reports serve-prepare vendor

help:
	@echo "make run      set up and serve the demo on http://$(HOST):$(PORT)"
	@echo "make test     set up and run the test suite (SQLite)"
	@echo "make serve    production server: migrate, collectstatic, gunicorn and a job worker (needs SECRET_KEY, ALLOWED_HOSTS, SITE_URL)"
	@echo "make test-pg  run the test suite on PostgreSQL ($(PG_URL))"
	@echo "make lint     ruff"
	@echo "make bench-search  judged queries (recall@10, MRR, ablation), then search speed on 100,000 synthetic records"
	@echo "make bench-feeds   calendar feed benchmark: 1,000 events, 50 series (prints figures)"
	@echo "make bench-api     book API throughput against a bare Django JsonResponse view (prints figures)"
	@echo "make bench-listing event listings as daily series grow: stored occurrences against lazy expansion"
	@echo "make bench-reports each report's ORM path against hand-written SQL over 1,000,000 loans (SQLite, then PostgreSQL)"
	@echo "make bench         all four benchmarks, each with its reference measured in the same run"
	@echo "make loadtest      gunicorn under rising concurrency on SQLite, then PostgreSQL if one answers (LOADTEST_ARGS=...)"
	@echo "make loadtest NODES=2  PostgreSQL only: 1 app node against 2 behind haproxy, side by side (needs haproxy and Redis)"

$(VENV)/.python-ok:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@touch $@

$(VENV)/.runtime: $(VENV)/.python-ok requirements.txt
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

migrate: $(VENV)/.runtime
	DEBUG=True $(PY) manage.py migrate --noinput

demo: migrate
	DEBUG=True $(PY) manage.py load_demo
	DEBUG=True $(PY) manage.py load_law_names --quiet
	DEBUG=True $(PY) manage.py rebuild_index --if-missing --quiet
	DEBUG=True $(PY) manage.py warm_feeds --quiet
	DEBUG=True $(PY) manage.py refresh_listings --quiet

# The background worker (text extraction, imports, index upkeep, notices) runs beside the web server and
# stops with it.
run: demo
	@echo "API docs: http://$(HOST):$(PORT)/api/v1/docs   admin: http://$(HOST):$(PORT)/admin/"
	DEBUG=True $(PY) manage.py run_worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
		DEBUG=True $(PY) manage.py runserver $(HOST):$(PORT)

# pytest-xdist: three test processes on this 2-core machine (each with its own test database, caches and
# index directories): a third of the suite's time is spent waiting on live servers, workers and browsers, so a
# third process fills it.  --maxschedchunk 2 (pyproject.toml's addopts) hands tests out two at a time as the
# processes free up.  xdist's default sent each process a quarter of its share at once, in collection order: the
# long tests (live servers, browsers, workers; put first by tests/conftest.py) all went to the first process,
# which ran them alone for three minutes after the others had finished (7:51 → 6:42; with the cuts of
# docs/performance.md "The test suite": 6:06 for 4,783 tests on the idle machine, 2026-12-07).
#
# Compiled bytecode is kept (__pycache__, ignored by git) even where the environment says not to
# (PYTHONDONTWRITEBYTECODE, as on this machine): each test process and each live server or worker it starts
# would otherwise compile the project's modules again, and pytest rewrite the asserts of every test module
# (collection 12.6 → 6.7 s a process, an application import 1.7 → 1.45 s).
TEST_WORKERS ?= 3
TEST_ENV = env -u PYTHONDONTWRITEBYTECODE
test: $(VENV)/.dev
	$(TEST_ENV) $(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

test-pg: $(VENV)/.dev
	$(TEST_ENV) DATABASE_URL=$(PG_URL) $(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	DEBUG=True $(PY) manage.py makemigrations --check --dry-run

# Not part of the test run: first the judged query set (recall@10 and MRR per kind on the fixed corpus of
# tests/fixtures/search_judged, with the ablation; about a minute), then a synthetic 100,000-record catalog in
# /tmp (10+ minutes).  Both print figures.
bench-search: $(VENV)/.dev
	$(PY) bench/judged_bench.py
	$(PY) bench/search_bench.py $(BENCH_ARGS)

bench-feeds: $(VENV)/.dev
	$(PY) bench/feed_bench.py $(BENCH_ARGS)

bench-api: $(VENV)/.dev
	$(PY) bench/api_bench.py $(BENCH_ARGS)

bench-listing: $(VENV)/.dev
	$(PY) bench/listing_bench.py $(BENCH_ARGS)

# Not part of the test run: each report's tables() against hand-written SQL for the same figures, over 1,000,000
# loans and 100,000 registrations generated by the database (SQLite in /tmp; then PostgreSQL's
# $(REPORTBENCH_PG), dropped and created again, when one answers).  Each database in its own process.
REPORTBENCH_PG ?= postgres://postgres@127.0.0.1:5432/shuyuan_reportbench
bench-reports: $(VENV)/.dev
	$(PY) bench/report_bench.py $(BENCH_ARGS)
	@if $(PY) -c 'import socket; socket.create_connection(("127.0.0.1", 5432), 2).close()' 2>/dev/null; then \
		$(PY) bench/report_bench.py --database $(REPORTBENCH_PG) $(BENCH_ARGS); \
	else echo "no PostgreSQL on 127.0.0.1:5432: PostgreSQL report benchmark skipped"; fi

# Search (against SQLite FTS5), feeds, API (against a bare JsonResponse view), event listings (against lazy
# expansion); figures in docs/performance.md.
bench: bench-search bench-feeds bench-api bench-listing

# Not part of the test run: a throwaway production installation in /tmp/shuyuan-loadtest (100,000 records; built
# once, 10-20 minutes per database, then about 90 s a run), gunicorn, clients 1/4/16/64; fails on any error.
# NODES=2 (or more): PostgreSQL only, one app node and then NODES, each gunicorn + run_worker with its own index,
# behind Debian's haproxy (apt-get install haproxy), caches and rate limits on the Redis at 127.0.0.1:6379/9.
LOADTEST_PG ?= postgres://postgres@127.0.0.1:5432/shuyuan_loadtest
NODES ?=
.PHONY: loadtest
loadtest: $(VENV)/.runtime
ifneq ($(NODES),)
	$(PY) bench/loadtest.py --database $(LOADTEST_PG) --nodes $(NODES) $(LOADTEST_ARGS)
else
	$(PY) bench/loadtest.py $(LOADTEST_ARGS)
	@if $(PY) -c 'import socket; socket.create_connection(("127.0.0.1", 5432), 2).close()' 2>/dev/null; then \
		echo "$(PY) bench/loadtest.py --database $(LOADTEST_PG) $(LOADTEST_ARGS)"; \
		$(PY) bench/loadtest.py --database $(LOADTEST_PG) $(LOADTEST_ARGS); \
	else echo "no PostgreSQL on 127.0.0.1:5432: PostgreSQL load test skipped"; fi
endif

check: $(VENV)/.runtime
	$(PY) manage.py check

clean:
	rm -rf $(VENV) var/

WORKERS ?= 3

# Everything before gunicorn starts (systemd runs it as ExecStartPre, see docs/deploy.md).
serve-prepare: $(VENV)/.runtime
	DEBUG=False $(PY) manage.py migrate --noinput
	DEBUG=False $(PY) manage.py collectstatic --noinput --verbosity 0
	DEBUG=False $(PY) manage.py load_law_names --quiet
	DEBUG=False $(PY) manage.py rebuild_index --if-missing --quiet
	DEBUG=False $(PY) manage.py warm_feeds --quiet
	DEBUG=False $(PY) manage.py refresh_listings --quiet

# Production serving: DEBUG off, static files collected and served by whitenoise, several gunicorn workers.
# Needs SECRET_KEY, ALLOWED_HOSTS and SITE_URL in the environment (the system checks refuse to start without them).
# Requests are logged by the app (JSON lines with the request id, feed secrets removed), not by gunicorn's access log.
# --preload: the master imports the application and warms the search (shuyuan/wsgi.py) once, and its workers share
# that memory; new code therefore needs a restart, not a HUP (docs/deploy.md).
serve: serve-prepare
	DEBUG=False $(PY) manage.py run_worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
		DEBUG=False $(VENV)/bin/gunicorn shuyuan.wsgi:application --preload --workers $(WORKERS) --bind $(HOST):$(PORT) \
		--error-logfile - --timeout 60

# Front-end files kept in static/vendor/ (static/vendor/README.md): fetched again from the npm registry by
# name and version.  Not part of run or test: the files are committed.
FONTSOURCE_MONGOLIAN ?= 5.3.0
ZXING_BROWSER ?= 0.2.1
ZXING_LIBRARY ?= 0.23.0
ICAL_JS ?= 2.2.1
ECHARTS ?= 6.1.0
vendor:
	rm -rf $(VENV)/vendor && mkdir -p $(VENV)/vendor
	cd $(VENV)/vendor && npm pack --silent @fontsource/noto-sans-mongolian@$(FONTSOURCE_MONGOLIAN) && tar xzf fontsource-noto-sans-mongolian-$(FONTSOURCE_MONGOLIAN).tgz
	cp $(VENV)/vendor/package/files/noto-sans-mongolian-mongolian-400-normal.woff2 static/vendor/noto-sans-mongolian/
	cp $(VENV)/vendor/package/LICENSE static/vendor/noto-sans-mongolian/OFL.txt
	cd $(VENV)/vendor && rm -rf package && npm pack --silent @zxing/browser@$(ZXING_BROWSER) && tar xzf zxing-browser-$(ZXING_BROWSER).tgz
	cp $(VENV)/vendor/package/umd/zxing-browser.min.js $(VENV)/vendor/package/LICENSE static/vendor/zxing-browser/
	cd $(VENV)/vendor && rm -rf package && npm pack --silent @zxing/library@$(ZXING_LIBRARY) && tar xzf zxing-library-$(ZXING_LIBRARY).tgz
	cp $(VENV)/vendor/package/LICENSE static/vendor/zxing-browser/LICENSE-zxing-library
	cd $(VENV)/vendor && rm -rf package && npm pack --silent ical.js@$(ICAL_JS) && tar xzf ical.js-$(ICAL_JS).tgz
	cp $(VENV)/vendor/package/dist/ical.min.js $(VENV)/vendor/package/LICENSE static/vendor/ical.js/
	cd $(VENV)/vendor && rm -rf package && npm pack --silent echarts@$(ECHARTS) && tar xzf echarts-$(ECHARTS).tgz
	mkdir -p static/vendor/echarts
	cp $(VENV)/vendor/package/dist/echarts.common.min.js static/vendor/echarts/echarts.min.js
	cp $(VENV)/vendor/package/LICENSE $(VENV)/vendor/package/NOTICE static/vendor/echarts/
	cp $(VENV)/vendor/package/licenses/LICENSE-d3 static/vendor/echarts/
