"""``manage.py export_catalog --format csv|marc FILE``: a thin wrapper over ``library.exporters``."""

import os
import sys
import tempfile
from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.commands import BaseCommand
from core.errors import InvalidInput
from library.exporters import export_catalog

EXTENSIONS = {".csv": "csv", ".mrc": "marc21", ".marc": "marc21", ".iso": "marc21", ".xml": "marcxml"}


class Command(BaseCommand):
    help = gettext_lazy("导出馆藏目录：CSV（UTF-8 带 BOM，Excel 可直接打开，可原样再导入）、MARC21 或 UNIMARC"
                        "（ISO 2709，UTF-8）、MARCXML 或 UNIMARC XML。")

    def add_arguments(self, parser):
        parser.add_argument("file", help=_("输出文件；- 表示标准输出"))
        parser.add_argument("--format", help=_("csv、marc21（即 marc）、marcxml、unimarc（cnmarc）或 unimarcxml；不写则按扩展名（.csv / .mrc .marc .iso / .xml）"))
        parser.add_argument("--quiet", action="store_true", help=_("不显示进度条"))

    def handle(self, *args, file: str, format: str | None, quiet: bool, **options):
        format = format or EXTENSIONS.get(Path(file).suffix.lower())
        if not format:
            raise CommandError(_("请用 --format csv 或 --format marc 指定格式"))
        warnings: list[str] = []
        try:
            if file == "-":
                count = export_catalog(format=format, stream=sys.stdout.buffer, progress=False, warnings=warnings)
            else:
                count = self._export_to(Path(file), format, progress=not quiet, warnings=warnings)
        except InvalidInput as exc:
            raise CommandError(exc.detail) from None
        except OSError as exc:
            raise CommandError(_("无法写入 %(file)s：%(error)s") % {"file": file, "error": exc.strerror or exc}) from None
        # Each warning goes to stderr, so none mixes with a catalog written to stdout.
        for warning in warnings:
            self.stderr.write(warning)
        if file == "-":
            if warnings:
                self.stderr.write(_("警告 %(n)s 条") % {"n": len(warnings)})
        elif warnings:
            self.stdout.write(_("已导出 %(count)s 种图书到 %(file)s，警告 %(n)s 条") % {
                "count": count, "file": file, "n": len(warnings)})
        else:
            self.stdout.write(_("已导出 %(count)s 种图书到 %(file)s") % {"count": count, "file": file})

    def _export_to(self, path: Path, format: str, progress: bool, warnings: list[str]) -> int:
        # Write beside the target and rename, so a failed export never leaves half a file in its place.
        handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as stream:
                count = export_catalog(format=format, stream=stream, progress=progress, warnings=warnings)
            os.chmod(temp_name, 0o644)  # mkstemp makes it 0600
            os.replace(temp_name, path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        return count
