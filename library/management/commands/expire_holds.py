"""Expire ready holds whose pickup deadline has passed; each copy goes to the next reader in line."""

from django.utils.translation import gettext_lazy

from core.commands import BaseCommand
from library.circulation import holds_expire


class Command(BaseCommand):
    help = gettext_lazy("过期未取的预约顺延给下一位读者（可重复运行）")

    def handle(self, *args, **options):
        self.stdout.write(f"expired holds: {holds_expire()}")
