from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from tqdm import tqdm

from core.commands import BaseCommand
from search_index import documents, services


class Command(BaseCommand):
    help = gettext_lazy("从数据库重建全文索引，建好后原子替换；重建期间检索照常。")

    def add_arguments(self, parser):
        parser.add_argument("--procs", type=int, default=1, help=_("并行写索引的进程数"))
        parser.add_argument("--if-missing", action="store_true", help=_("只在索引不存在或不可读时重建"))
        parser.add_argument("--quiet", action="store_true", help=_("不显示进度条"))

    def handle(self, *args, procs, if_missing, quiet, **options):
        if procs < 1:
            raise CommandError(_("--procs 至少为 1"))
        if if_missing:
            from search_index import generations

            try:
                generations.open_index().close()
                if not quiet:
                    self.stdout.write(_("全文索引已存在，无需重建"))
                return
            except generations.IndexMissing:
                pass
        total = documents.count_documents()
        with tqdm(total=total, disable=quiet or options["verbosity"] == 0, desc=_("重建索引"), unit=_("条")) as bar:
            result = services.index_rebuild(progress=bar.update, procs=procs)
        rate = result.records / result.seconds if result.seconds else 0
        self.stdout.write(
            _("已索引 %(records)s 条，用时 %(seconds)s 秒（%(rate)s 条/秒）→ %(generation)s") % {
                "records": result.records, "seconds": f"{result.seconds:.1f}", "rate": f"{rate:.0f}",
                "generation": result.generation}
        )
