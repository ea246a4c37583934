from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("用户与权限")

    def ready(self) -> None:
        # Sent once per migrated app (and after every flush of the test database); only the last one sees
        # every permission, so the role groups are filled then (roles_ensure is idempotent).
        post_migrate.connect(_ensure_roles, dispatch_uid="accounts.ensure_roles")


def _ensure_roles(sender, using="default", **kwargs) -> None:
    from django.apps import apps

    from accounts.services import roles_ensure

    # emit_post_migrate_signal sends for each app with models, in this order: act on the last.
    if sender is not [config for config in apps.get_app_configs() if config.models_module is not None][-1]:
        return
    roles_ensure(using=using)
