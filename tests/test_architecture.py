"""The package map holds: pure packages import no adapter, the edges' handlers do not import
the edge's composition, and the package root keeps only its face."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "leadstream"
ADAPTERS = ("leadstream.kafka", "leadstream.redis", "leadstream.storage", "leadstream.streams", "leadstream.edge")
THIRD_PARTY_IO = ("aiokafka", "redis", "clickhouse_connect", "chdb", "faust", "httpx", "uvicorn")


def imports(package: str) -> dict[str, set[str]]:
    """Module file -> every module it imports (top level or inside functions)."""
    found: dict[str, set[str]] = {}
    for path in (PACKAGE / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(PACKAGE))] = names
    return found


def offending(package: str, banned: tuple[str, ...]) -> dict[str, list[str]]:
    bad = {}
    for module, names in imports(package).items():
        hits = sorted(n for n in names if any(n == b or n.startswith(b + ".") for b in banned))
        if hits:
            bad[module] = hits
    return bad


@pytest.mark.parametrize("package", ["schemas", "scoring", "enrichment"])
def test_pure_packages_import_no_adapter_and_no_io(package: str) -> None:
    assert offending(package, ADAPTERS + THIRD_PARTY_IO) == {}


@pytest.mark.parametrize("package", ["ingest", "api"])
def test_handlers_do_not_import_the_edges_composition(package: str) -> None:
    assert offending(package, ("leadstream.edge.app", "leadstream.edge.state")) == {}


def test_the_package_root_keeps_only_its_face() -> None:
    modules = {p.name for p in PACKAGE.glob("*.py")}
    assert modules == {"__init__.py", "__main__.py", "cli.py", "settings.py", "client.py"}
