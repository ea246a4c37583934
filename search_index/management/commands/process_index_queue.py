import time

from django.core.management.base import BaseCommand

from search_index import services


class Command(BaseCommand):
    help = "处理索引队列中积压的更新；--watch 持续运行 (apply queued index updates; --watch keeps running)."

    def add_arguments(self, parser):
        parser.add_argument("--watch", action="store_true", help="持续运行，每隔 --interval 秒检查队列")
        parser.add_argument("--interval", type=float, default=1.0, help="轮询间隔（秒）")

    def handle(self, *args, watch, interval, **options):
        while True:
            result = services.index_drain()
            if result.indexed or result.deleted or options["verbosity"] > 1:
                self.stdout.write(f"已更新 {result.indexed} 条，删除 {result.deleted} 条")
            if result.missing:
                self.stderr.write("全文索引不存在，请先运行 manage.py rebuild_index (index missing)")
            if not watch:
                return
            time.sleep(interval)
