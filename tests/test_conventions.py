"""Project rules checked on the source (CONVENTIONS.md): one way in to protected data."""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "cordee"
ENTRY_POINTS = ("views.py", "api.py", "consumers.py")
# Models that hold or point at patient data: only access.py / services.py may query them.
PATIENT_LINKED = {"Patient"}


def _entry_point_files():
    for path in SOURCE.rglob("*.py"):
        if path.name in ENTRY_POINTS or path.parent.name in {"views", "api", "consumers"}:
            yield path


def test_entry_points_never_call_objects_get():
    offenders = []
    for path in _entry_point_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "get"
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "objects"
            ):
                offenders.append(f"{path.relative_to(SOURCE)}:{node.lineno}")
    assert not offenders, f"use an access_* getter instead of .objects.get() in {offenders}"


def test_patient_linked_models_are_queried_only_in_access_and_services():
    offenders = []
    for path in SOURCE.rglob("*.py"):
        if path.name in {"access.py", "services.py", "models.py", "demo.py"} or {"migrations", "services"} & set(
            path.relative_to(SOURCE).parts
        ):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "objects"
                and isinstance(node.value, ast.Name)
                and node.value.id in PATIENT_LINKED
            ):
                offenders.append(f"{path.relative_to(SOURCE)}:{node.lineno}")
    assert not offenders, f"query patient-linked models through access.py/services.py: {offenders}"


def test_apps_import_only_the_apps_below_them():
    """The layers contract of pyproject.toml ([tool.importlinter]), checked with import-linter."""
    import subprocess
    import sys

    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint)], cwd=SOURCE.parent, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def _in_services(path: Path) -> bool:
    parts = path.relative_to(SOURCE).parts
    return path.name == "services.py" or "services" in parts[:-1]


def test_state_changes_live_in_services_only():
    """``do_*`` (and ``check_*`` that call them) are defined only in a services module or package."""
    offenders = []
    for path in SOURCE.rglob("*.py"):
        if "migrations" in path.parts or _in_services(path):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("do_"):
                offenders.append(f"{path.relative_to(SOURCE)}:{node.lineno} {node.name}")
    assert not offenders, f"move these to a services module: {offenders}"


def _explained(lines: list[str], lineno: int) -> bool:
    """A comment on the import's line, or above it within its block of imports."""
    index = lineno - 1
    if "#" in lines[index]:
        return True
    index -= 1
    while index >= 0:
        text = lines[index].strip()
        if text.startswith("#"):
            return True
        if not text.startswith(("from ", "import ")):
            return False
        index -= 1
    return False


def test_imports_inside_functions_say_why():
    """An import of Cordée's own code inside a function is allowed only to break a real cycle, with a
    comment saying which (``AppConfig.ready`` excepted: models are loaded only then, by design)."""
    offenders = []
    for path in SOURCE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.name == "ready":
                continue
            for inner in ast.walk(node):
                module = inner.module if isinstance(inner, ast.ImportFrom) else None
                if isinstance(inner, ast.Import):
                    module = inner.names[0].name
                if module and module.startswith("cordee") and not _explained(lines, inner.lineno):
                    offenders.append(f"{path.relative_to(SOURCE)}:{inner.lineno}")
    assert not offenders, f"say why these imports are inside functions: {offenders}"


def test_every_type_ignore_names_its_code_and_reason():
    import re

    bare = re.compile(r"type: ignore(?!\[[a-z, _-]+\]  # \S)")
    offenders = [
        f"{path.relative_to(SOURCE)}:{number}"
        for path in SOURCE.rglob("*.py")
        if "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if bare.search(line)
    ]
    assert not offenders, f"say which error is ignored and why: {offenders}"


def test_every_getter_takes_its_purpose_and_uses_it():
    """``access_*`` getters (in access.py) write their purpose to the audit entries they make."""
    offenders = []
    public_reference = {"drugs/access.py:access_product", "drugs/access.py:access_products"}  # BDPM: no audit
    for path in SOURCE.rglob("access.py"):
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("access_"):
                continue
            params = {arg.arg for arg in node.args.args + node.args.kwonlyargs}
            used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            where = f"{path.relative_to(SOURCE)}:{node.name}"
            if "purpose" not in params or ("purpose" not in used and where not in public_reference):
                offenders.append(where)
    assert not offenders, f"these getters ignore their purpose: {offenders}"
