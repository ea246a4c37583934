"""``manage.py export_catalog --format csv|marc FILE``: a thin wrapper over ``library.exporters``."""

import os
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import InvalidInput
from library.exporters import export_catalog

EXTENSIONS = {".csv": "csv", ".mrc": "marc", ".marc": "marc", ".iso": "marc"}


class Command(BaseCommand):
    help = "导出馆藏目录：CSV（UTF-8 带 BOM，Excel 可直接打开，可原样再导入）或 MARC21（ISO 2709，UTF-8）。"

    def add_arguments(self, parser):
        parser.add_argument("file", help="输出文件；- 表示标准输出")
        parser.add_argument("--format", help="csv 或 marc；不写则按扩展名（.csv / .mrc .marc .iso）")
        parser.add_argument("--quiet", action="store_true", help="不显示进度条")

    def handle(self, *args, file: str, format: str | None, quiet: bool, **options):
        format = format or EXTENSIONS.get(Path(file).suffix.lower())
        if not format:
            raise CommandError(
                "请用 --format csv 或 --format marc 指定格式 (cannot tell the format from the file name)"
            )
        warnings: list[str] = []
        try:
            if file == "-":
                count = export_catalog(format=format, stream=sys.stdout.buffer, progress=False, warnings=warnings)
            else:
                count = self._export_to(Path(file), format, progress=not quiet, warnings=warnings)
        except InvalidInput as exc:
            raise CommandError(exc.detail) from None
        except OSError as exc:
            raise CommandError(f"无法写入 {file}：{exc.strerror or exc} (cannot write file)") from None
        # Each warning goes to stderr, so none mixes with a catalog written to stdout.
        for warning in warnings:
            self.stderr.write(warning)
        if file == "-":
            if warnings:
                self.stderr.write(f"警告 {len(warnings)} 条 ({len(warnings)} warnings)")
        elif warnings:
            self.stdout.write(
                f"已导出 {count} 种图书到 {file}，警告 {len(warnings)} 条 "
                f"(exported {count} books, {len(warnings)} warnings)"
            )
        else:
            self.stdout.write(f"已导出 {count} 种图书到 {file} (exported {count} books)")

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
