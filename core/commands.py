"""The base of the project's management commands.

Their ``help`` is translatable (``gettext_lazy``), but argparse formats a parser's description with ``re.sub``,
which takes no lazy string: ``manage.py rebuild_index --help`` ended in a TypeError (walk 20).  The description
becomes text when the parser is made, in the language active then.
"""

from django.core.management.base import BaseCommand as DjangoBaseCommand


class BaseCommand(DjangoBaseCommand):
    def create_parser(self, prog_name: str, subcommand: str, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.description = str(self.help) if self.help else None
        return parser
