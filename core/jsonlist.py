"""Expressions over a JSON list column (a list of strings: a book's subjects, a paper's keywords), written for
the two databases the project runs on, SQLite (``json_each``) and PostgreSQL (``jsonb_array_elements``).

Each reads the list's elements in the database instead of the column's text, which SQLite stores with
``\\u`` escapes and where a term could match across two elements.  A value that is not a list, and elements
that are not strings, never match.  These scan every row they are asked about (no index serves a JSON list on
SQLite): for a lookup by exact term on a large table, an index table is the answer (library's subject index,
``BookSubject``).
"""

from django.db import NotSupportedError
from django.db.models import BooleanField, F, Func


class ListElementMatches(Func):
    """True when some string of a JSON list column matches ``value`` case-insensitively, as Django's
    ``icontains`` (``exact=False``: contains it) or ``iexact`` (``exact=True``: is it) match a text column —
    in the database, one ``EXISTS`` over the list's elements, with Django's LIKE escaping."""

    output_field = BooleanField()

    def __init__(self, field: str, value: str, *, exact: bool) -> None:
        super().__init__(F(field))
        self.value = value
        self.exact = exact

    def _pattern(self, connection) -> str:
        escaped = connection.ops.prep_for_like_query(self.value)
        return escaped if self.exact else f"%{escaped}%"

    def as_sql(self, compiler, connection, **extra):
        raise NotSupportedError(f"matching JSON list elements is written for SQLite and PostgreSQL, not {connection.vendor}")

    def as_sqlite(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        sql = (f"(json_type({column}) = 'array' AND EXISTS (SELECT 1 FROM json_each({column}) AS list_element "
               "WHERE list_element.type = 'text' AND list_element.value LIKE %s ESCAPE '\\'))")
        return sql, (*params, *params, self._pattern(connection))

    def as_postgresql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        sql = (f"(jsonb_typeof({column}) = 'array' AND EXISTS (SELECT 1 FROM jsonb_array_elements({column}) "
               "AS list_element(value) WHERE jsonb_typeof(list_element.value) = 'string' "
               "AND UPPER(list_element.value #>> '{}') LIKE UPPER(%s)))")
        return sql, (*params, *params, self._pattern(connection))
