"""CQL (the Contextual Query Language of SRU) read by ``cql-parser`` and turned into a small tree of our own.

The parser (cql-parser 1.0.2, a PLY grammar of CQL 1.2 with ``sortBy``) does the syntax; this module keeps
what the server needs from its objects — index, relation, term, modifiers, booleans, sort keys — so the rest
of the package never touches the library's classes.  Syntax errors of every kind (the lexer's, the
grammar's, and anything else the library raises on odd input) come out as ``CQLSyntaxError``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from cql.lexer import CQLLexer
from cql.parser import CQLParser12, CQLSearchClause, CQLTriple

# The library logs every syntax error at ERROR level (and its grammar's states at DEBUG): a client's bad query
# is answered with a diagnostic, not written to the server's error log.
logging.getLogger("cql").setLevel(logging.CRITICAL)

#: Longest query accepted (longer: diagnostic 12, too many characters in query).
MAX_QUERY_CHARS = 2_000
#: Most search clauses in one query (more: diagnostic 38, too many boolean operators).
MAX_CLAUSES = 32


class CQLSyntaxError(ValueError):
    """The query is not CQL."""


@dataclass(frozen=True)
class Clause:
    """``index relation term``; a bare term has index ``cql.serverchoice`` and relation ``=``."""

    index: str  # lower case, context set prefix included ("dc.title")
    relation: str  # lower case ("=", "==", "all", "any", "adj", "<", …)
    term: str
    modifiers: tuple[str, ...] = ()  # relation modifiers, lower case ("cql.masked")


@dataclass(frozen=True)
class Boolean:
    operator: str  # "and", "or", "not", "prox"
    left: Node
    right: Node
    modifiers: tuple[str, ...] = ()


Node = Clause | Boolean


@dataclass(frozen=True)
class SortKey:
    index: str
    ascending: bool = True


@dataclass
class Query:
    root: Node
    sort: list[SortKey] = field(default_factory=list)


_local = threading.local()


def _parser() -> CQLParser12:
    """One built parser per thread: building the grammar's tables costs ~20 ms, and a PLY parser keeps its
    state in the object while it runs, so threads must not share one."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        lexer = CQLLexer()
        lexer.build()
        parser = CQLParser12()
        parser.build(lexer)
        _local.parser = parser
    return parser


def _convert(node, depth: int = 0) -> Node:
    if depth > MAX_CLAUSES:
        raise CQLSyntaxError("too deeply nested")
    if isinstance(node, CQLTriple):
        op = node.operator
        return Boolean(
            operator=str(op.value).lower(),
            left=_convert(node.left, depth + 1),
            right=_convert(node.right, depth + 1),
            modifiers=tuple(str(m.name).lower() for m in op.modifiers or ()),
        )
    if isinstance(node, CQLSearchClause):
        if node.index is None or node.relation is None:
            return Clause(index="cql.serverchoice", relation="=", term=node.term)
        relation = node.relation
        return Clause(
            index=str(node.index).lower(),
            relation=str(relation.comparitor).lower(),
            term=node.term,
            modifiers=tuple(str(m.name).lower() for m in relation.modifiers or ()),
        )
    raise CQLSyntaxError(f"unexpected node {type(node).__name__}")


def clauses(node: Node) -> list[Clause]:
    if isinstance(node, Clause):
        return [node]
    return clauses(node.left) + clauses(node.right)


def parse(text: str) -> Query:
    """The query's tree and its ``sortBy`` keys; raises CQLSyntaxError."""
    if not text or not text.strip():
        raise CQLSyntaxError("empty query")
    if "\x00" in text:
        raise CQLSyntaxError("NUL in query")
    try:
        parsed = _parser().parse(text)
    except RecursionError:
        raise CQLSyntaxError("too deeply nested") from None
    except Exception as exc:  # noqa: BLE001 - the library raises its own errors, and others on odd input
        raise CQLSyntaxError(str(exc) or exc.__class__.__name__) from None
    if parsed is None or getattr(parsed, "root", None) is None:
        raise CQLSyntaxError("no query")
    root = parsed.root
    sort = []
    for spec in getattr(root, "sortSpecs", None) or []:
        modifiers = {str(m.name).lower() for m in spec.modifiers or ()}
        sort.append(SortKey(index=str(spec.index).lower(),
                            ascending=not ({"sort.descending", "descending"} & modifiers)))
    return Query(root=_convert(root), sort=sort)
