from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "读书活动"

    def ready(self) -> None:
        from events import receivers

        receivers.connect()
