from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from accounts.services import token_issue


class Command(BaseCommand):
    help = "为用户签发新的 API 令牌，只在标准输出打印令牌 (prints a new API token and nothing else)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="令牌名称，便于在管理后台识别")

    def handle(self, *args, username, name, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"用户 {username} 不存在 (no such user)")
        if not user.is_active:
            raise CommandError(f"用户 {username} 已停用 (inactive user)")
        issued = token_issue(user=user, name=name)
        self.stdout.write(issued.raw)
