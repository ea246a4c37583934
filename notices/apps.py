from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    """One notice model and one way to write and send notices, for loans, holds and events alike."""

    name = "notices"
    verbose_name = _("通知")

    def ready(self) -> None:
        from notices import checks  # noqa: F401 - registers the system checks
