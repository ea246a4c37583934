import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shuyuan.settings")

application = get_wsgi_application()

# A WSGI server (gunicorn) does not run system checks; run them here so that a
# misconfigured process refuses to start instead of failing on the first request.
from django.core import checks  # noqa: E402
from django.core.management.base import SystemCheckError  # noqa: E402

_errors = [e for e in checks.run_checks(include_deployment_checks=False) if e.is_serious()]
if _errors:
    raise SystemCheckError("\n".join(str(e) for e in _errors))

# What the first search of a process would load inside its time budget (the segmenter's and the readings'
# dictionaries, the law names, the index's columns) is loaded now, before the first request: in gunicorn's
# master with --preload (`make serve`, docs/deploy.md), so that its workers share one copy of it, or in each
# worker, or in runserver's process.  A preloading master must fork no open database connection, and its
# objects are frozen so that the workers' garbage collector does not write to (and so copy) their pages.
from django.db import connections  # noqa: E402

from search_index.services import warm  # noqa: E402

warm()
connections.close_all()
gc.collect()
gc.freeze()
