from django.core.management.base import BaseCommand, CommandError

from search_index import services


class Command(BaseCommand):
    help = "比对全文索引与数据库，报告缺失、过期和多余的记录；--fix 修复 (compare index and database)."

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="修复发现的差异")

    def handle(self, *args, fix, **options):
        try:
            result = services.index_check(fix=fix)
        except services.SearchUnavailable as exc:
            raise CommandError(str(exc)) from None
        for label, keys in (
            ("缺失 missing", result.missing),
            ("过期 stale", result.stale),
            ("多余 extra", result.extra),
        ):
            self.stdout.write(
                f"{label}: {len(keys)}"
                + (f"  ({', '.join(keys[:20])}{' …' if len(keys) > 20 else ''})" if keys else "")
            )
        if result.ok:
            self.stdout.write("索引与数据库一致 (index matches the database)")
        elif fix:
            self.stdout.write("已修复 (repaired)")
        else:
            raise CommandError("索引与数据库不一致；运行 check_index --fix 修复 (index differs from the database)")
