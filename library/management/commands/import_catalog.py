"""``manage.py import_catalog FILE``: a thin wrapper over ``library.importers.import_catalog``."""

import sys
from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.commands import BaseCommand
from core.errors import InvalidInput
from library.exporters import import_report_lines, import_report_xlsx
from library.importers import error_text, import_catalog
from library.imports import import_record_from
from library.models import ImportRecord


class Command(BaseCommand):
    help = gettext_lazy(
        "导入馆藏目录：CSV（UTF-8 或 GB18030）、ISO 2709 MARC（MARC21 / UNIMARC / CNMARC）或 MARCXML、"
        "UNIMARC/CNMARC XML（也可以是 SRU、OAI-PMH 响应）。"
        "重复导入只更新、不重复；与现有书目不一致的记录报告为冲突、不写入；出错的行列在标准错误输出，其余照常导入。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help=_("要导入的文件；- 表示标准输入"))
        parser.add_argument(
            "--format",
            help=_("csv、marc21、unimarc（cnmarc）、marcxml、unimarcxml（cnmarcxml）、marc（ISO 2709 任一种）"
                   "或 xml（任一种 MARC XML）；不写则按内容自动识别"),
        )
        parser.add_argument("--location", help=_("新复本一律放在此馆藏地（默认取各行/馆藏字段的馆藏地，否则 院本部）"))
        parser.add_argument("--dry-run", action="store_true",
                            help=_("试导入：逐条列出将会发生什么，不写入任何数据"))
        parser.add_argument("--report", metavar="PATH", help=_("把逐条报告写入此文件（扩展名 .csv 或 .xlsx）"))
        parser.add_argument("--quiet", action="store_true", help=_("不显示进度条"))

    def handle(self, *args, file: str, format: str | None, location: str | None, dry_run: bool,
               report: str | None, quiet: bool, **options):
        if report and Path(report).suffix.lower() not in (".csv", ".xlsx"):
            raise CommandError(_("--report 的文件扩展名应为 .csv 或 .xlsx：%(path)s") % {"path": report})
        try:
            data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(_("无法读取文件 %(file)s：%(error)s") % {"file": file, "error": exc.strerror or exc}) from None
        try:
            summary = import_catalog(
                data=data, filename=file, format=format, progress=not quiet, location=location or None,
                dry_run=dry_run,
            )
        except InvalidInput as exc:
            raise CommandError(f"{file}：{exc.detail}") from None
        labels = dict(ImportRecord.Outcome.choices)
        for notice in summary.errors[: len(summary.errors) - summary.failed]:  # about the whole file
            self.stderr.write(error_text(notice))
        for outcome in summary.outcomes:
            if dry_run or outcome.outcome in ("conflict", "failed"):
                self._outcome_line(outcome, summary.where, labels, stream=self.stdout if dry_run else self.stderr)
        if report:
            self._write_report(report, summary, dry_run=dry_run)
        totals = {"format": summary.format, "created": summary.created, "updated": summary.updated,
                  "unchanged": summary.unchanged, "conflicts": summary.conflicts, "failed": summary.failed}
        if dry_run:
            self.stdout.write(_("试导入 (%(format)s)，未写入任何数据：将新增 %(created)s，更新 %(updated)s，未变 "
                                "%(unchanged)s，冲突 %(conflicts)s，失败 %(failed)s") % totals)
        else:
            self.stdout.write(_("导入完成 (%(format)s)：新增 %(created)s，更新 %(updated)s，未变 %(unchanged)s，"
                                "冲突 %(conflicts)s（待决定），失败 %(failed)s") % totals)

    def _outcome_line(self, outcome, where: str, labels: dict, *, stream) -> None:
        """"第 3 行：ISBN 校验位错误…" for a failure; "第 3 行：冲突 (conflict) · reason · 书目 id 5 · field: a → b"
        for any other outcome."""
        details = [] if outcome.outcome == "failed" else [f"{labels.get(outcome.outcome)} ({outcome.outcome})"]
        details.append(outcome.reason)
        if outcome.book_id is not None:
            details.append(_("书目 id %(id)s") % {"id": outcome.book_id})
        for conflict in outcome.conflicts:
            details.append(f"{conflict['label']}: {conflict['current']} → {conflict['incoming']}")
        stream.write(error_text({"line": outcome.number if where == "line" else None,
                                 "record": outcome.number if where == "record" else None,
                                 "reason": " · ".join(d for d in details if d)}))

    def _write_report(self, path: str, summary, *, dry_run: bool = False) -> None:
        records = [import_record_from(outcome, where=summary.where, position=number)
                   for number, outcome in enumerate(summary.outcomes, start=1)]
        try:
            if path.lower().endswith(".xlsx"):
                Path(path).write_bytes(import_report_xlsx(records, dry_run=dry_run))
            else:
                Path(path).write_text("".join(import_report_lines(records)), encoding="utf-8", newline="")
        except OSError as exc:
            raise CommandError(_("无法写入报告 %(path)s：%(error)s") % {"path": path, "error": exc.strerror or exc}) from None
        self.stdout.write(_("逐条报告已写入 %(path)s") % {"path": path})
