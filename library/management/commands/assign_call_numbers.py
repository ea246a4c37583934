"""Give a call number to every book catalogued before call numbers were assigned: books with copies and a CLC
class but no call number (a book gets one with its first copy from now on).  One line a book; --dry-run
shows the numbers it would give and writes nothing."""

from contextlib import nullcontext

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.commands import BaseCommand
from library.models import Book
from library.services import call_number_assign


class Command(BaseCommand):
    help = gettext_lazy("为有复本、有中图法分类号而没有索书号的图书编索书号（按 CALL_NUMBER_SCHEME；已有的索书号不动）")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help=gettext_lazy("只列出将编的索书号，不写入"))
        parser.add_argument("--scheme", choices=["accession", "author"],
                            help=gettext_lazy("accession（种次号）或 author（著者号）；默认取 CALL_NUMBER_SCHEME"))

    def handle(self, *args, dry_run, scheme, **options):
        waiting = Book.objects.filter(call_number="", copies__isnull=False).distinct()
        unclassified = waiting.filter(clc="").count()
        books = waiting.exclude(clc="").order_by("id")
        # A dry run numbers the books in one transaction and rolls it back, so the numbers it shows are the
        # ones a real run would give; a real run commits book by book.
        with transaction.atomic() if dry_run else nullcontext():
            count = 0
            for pk in list(books.values_list("pk", flat=True)):
                book = Book.objects.get(pk=pk)
                call_number = call_number_assign(book=book, scheme=scheme)
                self.stdout.write(f"{call_number}\t#{book.pk}\t{book.title}")
                count += 1
            if dry_run:
                transaction.set_rollback(True)
        summary = (_("试运行：将为 %(n)d 种书编索书号（未写入）") if dry_run else _("已为 %(n)d 种书编索书号")) % {"n": count}
        if unclassified:
            summary += _("；%(n)d 种有复本的书没有中图法分类号，未编号") % {"n": unclassified}
        self.stdout.write(summary)

