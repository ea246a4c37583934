from django.contrib.auth.models import User
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.services import token_issue
from core.commands import BaseCommand


class Command(BaseCommand):
    help = gettext_lazy("为用户签发新的 API 令牌，只在标准输出打印令牌。")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help=_("令牌名称，便于在管理后台识别"))

    def handle(self, *args, username, name, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("用户 %(username)s 不存在") % {"username": username})
        if not user.is_active:
            raise CommandError(_("用户 %(username)s 已停用") % {"username": username})
        issued = token_issue(user=user, name=name)
        self.stdout.write(issued.raw)
