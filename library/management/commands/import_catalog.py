"""``manage.py import_catalog FILE``: a thin wrapper over ``library.importers.import_catalog``."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import InvalidInput
from library.importers import error_text, import_catalog


class Command(BaseCommand):
    help = (
        "导入馆藏目录：CSV（UTF-8 或 GB18030）或 ISO 2709 MARC（MARC21 / UNIMARC）。"
        "重复导入只更新、不重复；出错的行列在标准错误输出，其余照常导入。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="要导入的文件；- 表示标准输入")
        parser.add_argument(
            "--format",
            help="csv、marc21 或 unimarc（也可写 cnmarc、marc）；不写则按内容自动识别",
        )
        parser.add_argument("--location", help="新复本一律放在此馆藏地（默认取各行/馆藏字段的馆藏地，否则 院本部）")
        parser.add_argument("--quiet", action="store_true", help="不显示进度条")

    def handle(self, *args, file: str, format: str | None, location: str | None, quiet: bool, **options):
        try:
            data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(f"无法读取文件 {file}：{exc.strerror or exc} (cannot read file)") from None
        try:
            summary = import_catalog(
                data=data, filename=file, format=format, progress=not quiet, location=location or None
            )
        except InvalidInput as exc:
            raise CommandError(f"{file}：{exc.detail}") from None
        for error in summary.errors:
            self.stderr.write(error_text(error))
        self.stdout.write(
            f"导入完成 ({summary.format})：新增 {summary.created}，更新 {summary.updated}，"
            f"未变 {summary.skipped}，失败 {summary.failed} "
            f"(created {summary.created}, updated {summary.updated}, skipped {summary.skipped}, "
            f"failed {summary.failed})"
        )
