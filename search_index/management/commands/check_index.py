from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.commands import BaseCommand
from search_index import services


class Command(BaseCommand):
    help = gettext_lazy("比对全文索引与数据库，报告缺失、过期和多余的记录；--fix 修复。")

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help=_("修复发现的差异"))

    def handle(self, *args, fix, **options):
        try:
            result = services.index_check(fix=fix)
        except services.SearchUnavailable as exc:
            raise CommandError(str(exc)) from None
        for label, keys in (
            (_("缺失"), result.missing),
            (_("过期"), result.stale),
            (_("多余"), result.extra),
        ):
            self.stdout.write(
                f"{label}: {len(keys)}"
                + (f"  ({', '.join(keys[:20])}{' …' if len(keys) > 20 else ''})" if keys else "")
            )
        if result.ok:
            self.stdout.write(_("索引与数据库一致"))
        elif fix:
            self.stdout.write(_("已修复"))
        else:
            raise CommandError(_("索引与数据库不一致；运行 check_index --fix 修复"))
