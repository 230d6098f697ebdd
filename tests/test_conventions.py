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
