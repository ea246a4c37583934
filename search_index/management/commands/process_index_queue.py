import time

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.commands import BaseCommand
from search_index import services


class Command(BaseCommand):
    help = gettext_lazy("把变更日志中本节点尚未应用的更新写入全文索引；--watch 持续运行。")

    def add_arguments(self, parser):
        parser.add_argument("--watch", action="store_true", help=_("持续运行，每隔 --interval 秒检查变更日志"))
        parser.add_argument("--interval", type=float, default=1.0, help=_("轮询间隔（秒）"))

    def handle(self, *args, watch, interval, **options):
        while True:
            result = services.index_drain()
            if result.indexed or result.deleted or options["verbosity"] > 1:
                self.stdout.write(_("已更新 %(indexed)s 条，删除 %(deleted)s 条") % {"indexed": result.indexed,
                                                                              "deleted": result.deleted})
            if result.missing:
                self.stderr.write(_("全文索引不存在，请先运行 manage.py rebuild_index"))
            if result.behind:
                self.stderr.write(_("本节点的全文索引落后于已清理的变更日志，请运行 manage.py rebuild_index"))
            if not watch:
                return
            time.sleep(interval)
