from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LibraryConfig(AppConfig):
    name = "library"
    verbose_name = _("馆藏目录")

    def ready(self) -> None:
        from library import receivers

        receivers.connect()
