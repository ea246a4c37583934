from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    """The site's pages that span apps (search, book and paper pages, /me) and the demo data."""

    name = "web"
    verbose_name = _("网站")
