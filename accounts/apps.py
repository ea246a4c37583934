from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("用户与权限")

    def ready(self) -> None:
        # Sent once per migrated app; the last one sees every permission, so
        # the role groups always end up complete (roles_ensure is idempotent).
        post_migrate.connect(_ensure_roles, dispatch_uid="accounts.ensure_roles")


def _ensure_roles(sender, using="default", **kwargs) -> None:
    from accounts.services import roles_ensure

    roles_ensure(using=using)
