from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InteropConfig(AppConfig):
    """The catalogue seen from outside: the SRU server and the OAI-PMH data provider (read-only, anonymous)."""

    name = "interop"
    verbose_name = _("对外接口（SRU、OAI-PMH）")

    def ready(self) -> None:
        from interop import checks  # noqa: F401 - registers the system checks
