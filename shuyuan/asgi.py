import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shuyuan.settings")

application = get_asgi_application()

# As in wsgi.py: what the first search would load inside its time budget, loaded before the first request.
from django.db import connections  # noqa: E402

from search_index.services import warm  # noqa: E402

warm()
connections.close_all()
