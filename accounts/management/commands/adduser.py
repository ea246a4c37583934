from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role
from accounts.services import user_upsert
from core.commands import BaseCommand


class Command(BaseCommand):
    help = gettext_lazy("创建或更新用户并设置角色。")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--role", action="append", dest="roles", default=[], choices=Role.values,
            help=_("judge、librarian、organizer 或 manager（院领导）；可重复"),
        )
        parser.add_argument("--password", help=_("登录密码；不给出时新用户不能用密码登录"))
        parser.add_argument("--name", dest="display_name", help=_("显示姓名，例如 张法官"))
        parser.add_argument("--division", help=_("部门，例如 民事审判庭"))
        parser.add_argument("--email")
        parser.add_argument("--phone")
        parser.add_argument("--superuser", action="store_true", help=_("同时设为超级管理员"))
        parser.add_argument(
            "--skip-password-validation", action="store_true", help=_("不检查密码强度（仅用于演示数据）")
        )

    def handle(self, *args, username, roles, password, display_name, division, email, phone, superuser,
               skip_password_validation, **options):
        try:
            user, created = user_upsert(
                username=username, roles=roles, password=password, display_name=display_name,
                division=division, email=email, phone=phone, validate=not skip_password_validation,
            )
        except ValidationError as exc:
            messages = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()) if hasattr(
                exc, "error_dict") else " ".join(exc.messages)
            raise CommandError(messages) from None
        if superuser and not user.is_superuser:
            user.is_superuser = user.is_staff = True
            user.save(update_fields=["is_superuser", "is_staff"])
        roles_text = ", ".join(sorted(user.groups.values_list("name", flat=True))) or _("无")
        message = _("已创建用户 %(username)s（角色：%(roles)s）") if created else _("已更新用户 %(username)s（角色：%(roles)s）")
        self.stdout.write(message % {"username": user.username, "roles": roles_text})
