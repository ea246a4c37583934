import time

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.commands import BaseCommand
from search_index import services


class Command(BaseCommand):
    help = gettext_lazy("处理索引队列中积压的更新；--watch 持续运行。")

    def add_arguments(self, parser):
        parser.add_argument("--watch", action="store_true", help=_("持续运行，每隔 --interval 秒检查队列"))
        parser.add_argument("--interval", type=float, default=1.0, help=_("轮询间隔（秒）"))

    def handle(self, *args, watch, interval, **options):
        while True:
            result = services.index_drain()
            if result.indexed or result.deleted or options["verbosity"] > 1:
                self.stdout.write(_("已更新 %(indexed)s 条，删除 %(deleted)s 条") % {"indexed": result.indexed,
                                                                              "deleted": result.deleted})
            if result.missing:
                self.stderr.write(_("全文索引不存在，请先运行 manage.py rebuild_index"))
            if not watch:
                return
            time.sleep(interval)
