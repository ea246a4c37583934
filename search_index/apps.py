from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SearchIndexConfig(AppConfig):
    name = "search_index"
    verbose_name = _("全文检索")

    def ready(self) -> None:
        from search_index import receivers

        receivers.connect()
