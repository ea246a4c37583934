from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.commands import BaseCommand
from search_index import services


class Command(BaseCommand):
    help = gettext_lazy("把 search_index/data/laws.csv 中尚未收录的法律名称加入词表（可重复运行，不覆盖馆员的修改）。")

    def add_arguments(self, parser):
        parser.add_argument("--file", help=_("另一个同格式的 CSV 文件"))
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, file=None, quiet=False, **options):
        added = services.law_names_load(path=file)
        if not quiet:
            self.stdout.write(_("已加入 %(n)s 条法律名称") % {"n": added})
