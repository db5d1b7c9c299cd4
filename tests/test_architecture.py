"""The import rules of DESIGN §3, enforced on every module of the package that exists."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "treadctl"

# module -> what it may import besides the standard library. Internal names are treadctl
# submodules; the rest are top-level distributions' import names.
ALLOWED: dict[str, set[str]] = {
    "__init__": set(),
    "__main__": {"cli"},
    "errors": set(),
    "ftms": {"errors"},
    "safety": {"ftms", "errors"},
    "workout": {"ftms", "safety", "errors", "pydantic", "structlog"},
    # bleak_retry_connector is how bleak connections are made (DESIGN §8).
    "ble": {"bleak", "bleak_retry_connector", "ftms", "safety", "errors", "structlog"},
    # errors: the simulator reports bad quirk files with the project's own InputError.
    "sim": {"bumble", "bleak", "ftms", "errors"},
    # paho is aiomqtt's own transport; its SubscribeOptions carry MQTT 5 retain handling.
    "mqtt": {"aiomqtt", "paho", "ftms", "errors", "pydantic", "structlog"},
    # pydantic comes with pydantic-settings; errors for ConfigError.
    "config": {"pydantic_settings", "pydantic", "errors"},
    "logs": {"structlog"},
    "daemon": {"*"},
    "plot": {"workout", "safety", "errors", "matplotlib"},
    "cli": {"daemon", "config", "workout", "sim", "errors", "logs", "__init__", "plot"},
}


def _owner(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    """Top-level names a module imports; treadctl imports reduced to their first submodule."""
    found = _imports_of_source(path.read_text(encoding="utf-8"), path)
    found.discard(_owner(path))
    return found


def _submodule_or_init(name: str) -> str:
    """`from treadctl import x`: x is a submodule, or a name defined in the package's __init__."""
    is_module = (PACKAGE / f"{name}.py").exists() or (PACKAGE / name).is_dir()
    return name if is_module else "__init__"


def _normalise(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "treadctl":
        return parts[1] if len(parts) > 1 else "__init__"
    return parts[0]


def _resolve_relative(node: ast.ImportFrom, path: Path) -> str:
    rel = path.relative_to(PACKAGE).parts[:-1]  # the package the module sits in
    base = list(rel[: len(rel) - (node.level - 1)]) if node.level > 1 else list(rel)
    if node.module:
        base += node.module.split(".")
    if not base:  # `from . import x` at the top level
        return node.names[0].name
    return base[0]


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_follow_design_table(path: Path) -> None:
    """Every module imports only the standard library and what DESIGN §3 allows its owner."""
    owner = _owner(path)
    assert owner in ALLOWED, f"{owner} is not in the import table of DESIGN §3; add it there first"
    allowed = ALLOWED[owner]
    if "*" in allowed:
        return
    bad = sorted(
        name
        for name in _imports(path)
        if name not in sys.stdlib_module_names and name not in allowed and name != "__future__"
    )
    assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}; {owner} may import {allowed}"


def test_table_rejects_a_forbidden_import() -> None:
    """The checker itself finds a forbidden import (so the table test cannot pass vacuously)."""
    fake = PACKAGE / "ftms" / "_probe_for_test.py"
    assert "aiomqtt" in _imports_of_source("import aiomqtt\nfrom treadctl import safety\n", fake)
    assert "safety" in _imports_of_source("from ..safety import Governor\n", fake)


def _imports_of_source(source: str, path: Path) -> set[str]:
    tree = ast.parse(source, filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(_normalise(a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.add(_resolve_relative(node, path))
            elif node.module == "treadctl":
                found.update(_submodule_or_init(a.name) for a in node.names)
            elif node.module:
                found.add(_normalise(node.module))
    return found
