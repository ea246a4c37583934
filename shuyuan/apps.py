from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShuyuanConfig(AppConfig):
    name = "shuyuan"
    verbose_name = _("法官书苑")

    def ready(self) -> None:
        from shuyuan import checks  # noqa: F401  (registers the system checks)
