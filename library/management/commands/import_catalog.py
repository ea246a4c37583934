"""``manage.py import_catalog FILE``: a thin wrapper over ``library.importers.import_catalog``."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import InvalidInput
from library.importers import error_text, import_catalog


class Command(BaseCommand):
    help = gettext_lazy(
        "导入馆藏目录：CSV（UTF-8 或 GB18030）、ISO 2709 MARC（MARC21 / UNIMARC / CNMARC）或 MARCXML、"
        "UNIMARC/CNMARC XML（也可以是 SRU、OAI-PMH 响应）。"
        "重复导入只更新、不重复；出错的行列在标准错误输出，其余照常导入。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help=_("要导入的文件；- 表示标准输入"))
        parser.add_argument(
            "--format",
            help=_("csv、marc21、unimarc（cnmarc）、marcxml、unimarcxml（cnmarcxml）、marc（ISO 2709 任一种）"
                   "或 xml（任一种 MARC XML）；不写则按内容自动识别"),
        )
        parser.add_argument("--location", help=_("新复本一律放在此馆藏地（默认取各行/馆藏字段的馆藏地，否则 院本部）"))
        parser.add_argument("--quiet", action="store_true", help=_("不显示进度条"))

    def handle(self, *args, file: str, format: str | None, location: str | None, quiet: bool, **options):
        try:
            data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(_("无法读取文件 %(file)s：%(error)s") % {"file": file, "error": exc.strerror or exc}) from None
        try:
            summary = import_catalog(
                data=data, filename=file, format=format, progress=not quiet, location=location or None
            )
        except InvalidInput as exc:
            raise CommandError(f"{file}：{exc.detail}") from None
        for error in summary.errors:
            self.stderr.write(error_text(error))
        self.stdout.write(
            _("导入完成 (%(format)s)：新增 %(created)s，更新 %(updated)s，未变 %(skipped)s，失败 %(failed)s") % {
                "format": summary.format, "created": summary.created, "updated": summary.updated,
                "skipped": summary.skipped, "failed": summary.failed}
        )
