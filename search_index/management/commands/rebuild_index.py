from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from search_index import documents, services


class Command(BaseCommand):
    help = "从数据库重建全文索引，建好后原子替换；重建期间检索照常 (rebuild the search index and swap it in)."

    def add_arguments(self, parser):
        parser.add_argument("--procs", type=int, default=1, help="并行写索引的进程数 (writer processes)")
        parser.add_argument("--if-missing", action="store_true", help="只在索引不存在或不可读时重建")
        parser.add_argument("--quiet", action="store_true", help="不显示进度条")

    def handle(self, *args, procs, if_missing, quiet, **options):
        if procs < 1:
            raise CommandError("--procs 至少为 1")
        if if_missing:
            from search_index import generations

            try:
                generations.open_index().close()
                if not quiet:
                    self.stdout.write("全文索引已存在，无需重建 (index present)")
                return
            except generations.IndexMissing:
                pass
        total = documents.count_documents()
        with tqdm(total=total, disable=quiet or options["verbosity"] == 0, desc="重建索引", unit="条") as bar:
            result = services.index_rebuild(progress=bar.update, procs=procs)
        rate = result.records / result.seconds if result.seconds else 0
        self.stdout.write(
            f"已索引 {result.records} 条，用时 {result.seconds:.1f} 秒（{rate:.0f} 条/秒）→ {result.generation}"
        )
