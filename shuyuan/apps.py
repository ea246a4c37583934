from django.apps import AppConfig


class ShuyuanConfig(AppConfig):
    name = "shuyuan"
    verbose_name = "法官书苑"

    def ready(self) -> None:
        from shuyuan import checks  # noqa: F401  (registers the system checks)
