"""The codebase's structure rules, checked on every run (issue 11): modules and functions
stay small, errors come from one family, services never import each other, and test
modules import only support code, never another test module."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
CODE_ROOTS = ("services", "shared", "tools")
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60
SERVICES = ("registry", "matcher", "events", "notifier", "console")
SHARED_ERRORS = {"NotFound", "Forbidden", "Conflict", "Invalid", "TooManyRequests"}


def code_files() -> Iterator[Path]:
    for root in CODE_ROOTS:
        for path in sorted((ROOT / root).rglob("*.py")):
            # Migrations are history: written once, never read as code to change.
            if "migrations" not in path.parts and ".venv" not in path.parts:
                yield path


def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_modules(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_no_module_is_over_600_lines() -> None:
    oversized = {
        relative(path): lines
        for path in code_files()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not oversized, f"split these modules along their seams: {oversized}"


def test_no_function_is_over_60_lines() -> None:
    long_functions = [
        f"{relative(path)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1})"
        for path in code_files()
        for node in ast.walk(parsed(path))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long_functions, "\n".join(long_functions)


def test_errors_come_from_the_one_shared_family() -> None:
    """A service raises `tandem_shared.errors`; it never defines its own NotFound & co."""
    own = [
        f"{relative(path)}: class {node.name}"
        for path in code_files()
        if path.parts[len(ROOT.parts)] == "services"
        for node in ast.walk(parsed(path))
        if isinstance(node, ast.ClassDef) and node.name in SHARED_ERRORS
    ]
    assert not own, own


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service: str) -> None:
    others = {f"tandem_{name}" for name in SERVICES if name != service}
    package = ROOT / "services" / service / f"tandem_{service}"
    crossing = [
        f"{relative(path)} imports {module}"
        for path in sorted(package.rglob("*.py"))
        for module in imported_modules(parsed(path))
        if module.split(".")[0] in others
    ]
    assert not crossing, crossing


def test_test_modules_import_only_support_code() -> None:
    """Fixtures and helpers live in tests/support/; no test module or conftest is imported."""
    tests = ROOT / "tests"
    offending = [
        f"{relative(path)} imports {module}"
        for path in sorted(tests.rglob("*.py"))
        for module in imported_modules(parsed(path))
        if module.startswith("tests.") and not module.startswith("tests.support")
    ]
    assert not offending, offending


def test_support_code_defines_no_tests() -> None:
    support = ROOT / "tests" / "support"
    defined = [
        f"{relative(path)}: {node.name}"
        for path in sorted(support.rglob("*.py"))
        for node in parsed(path).body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    ]
    assert not defined, defined
