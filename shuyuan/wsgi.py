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
