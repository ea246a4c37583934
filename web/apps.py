from django.apps import AppConfig


class WebConfig(AppConfig):
    """The site's pages that span apps (search, book and paper pages, /me) and the demo data."""

    name = "web"
    verbose_name = "网站"
