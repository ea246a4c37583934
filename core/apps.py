from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """The ground floor: errors, pagination, schema types, text rules, media paths, rate limits and
    idempotency records that every app uses; it imports no app."""

    name = "core"
    verbose_name = _("基础")
