from django.apps import AppConfig


class SearchIndexConfig(AppConfig):
    name = "search_index"
    verbose_name = "全文检索"

    def ready(self) -> None:
        from search_index import receivers

        receivers.connect()
