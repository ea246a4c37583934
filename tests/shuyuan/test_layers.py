"""The layers of the project (docs/design.md, "Layers"): a package imports only packages on floors below
its own, never one beside it or above it.  Read from the source, every ``import`` and ``from … import``
(inside functions too), so a lazy import cannot hide an upward arrow."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Floors from the ground up; packages on one floor do not import each other.
LAYERS: list[set[str]] = [
    {"core"},  # errors, schema types, text rules, media paths, rate limits, idempotency
    {"accounts", "jobs"},  # people and roles; background jobs
    {"notices"},  # one notice model, templates, delivery
    {"library"},  # catalogue, papers, circulation
    {"events", "search_index"},  # events and feeds; the full-text index of the catalogue
    {"web", "interop", "reports"},  # pages that span apps, demo data; SRU and OAI-PMH; reports and their pages
    {"shuyuan"},  # settings, URLs, the one NinjaAPI, health, request logs
]
FLOOR = {package: floor for floor, packages in enumerate(LAYERS) for package in packages}


def imported_packages(source: str) -> set[str]:
    """The project packages a module's source imports (absolute imports; the project uses no relative ones)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names if name.split(".")[0] in FLOOR}
    return found


def wrong_arrows(package: str, source: str) -> set[str]:
    """The imports of a module of ``package`` that point sideways or up."""
    return {f"{package} -> {other}" for other in imported_packages(source)
            if other != package and FLOOR[other] >= FLOOR[package]}


def test_every_import_points_down():
    wrong = set()
    for package in FLOOR:
        for path in sorted((ROOT / package).rglob("*.py")):
            for arrow in wrong_arrows(package, path.read_text(encoding="utf-8")):
                wrong.add(f"{path.relative_to(ROOT)}: {arrow}")

    assert sorted(wrong) == []


def test_every_top_level_package_has_a_floor():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}

    assert packages == set(FLOOR)


def test_the_check_sees_upward_sideways_and_lazy_imports():
    assert wrong_arrows("library", "from events.models import Event") == {"library -> events"}
    assert wrong_arrows("events", "def f():\n    import search_index.services\n") == {"events -> search_index"}
    assert wrong_arrows("core", "from accounts import services") == {"core -> accounts"}
    assert wrong_arrows("web", "from library import selectors\nfrom core.errors import DomainError\nimport json") == set()
