from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The ground floor: errors, pagination, schema types, text rules, media paths, rate limits and
    idempotency records that every app uses; it imports no app."""

    name = "core"
    verbose_name = "基础"
