"""The layering of DESIGN.md, checked on the source: who may import whom, and no task names outside a
task's own modules (every import counts, including those inside functions)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "latentloop"
# package (or top-level module) -> the latentloop packages/modules it may import
ALLOWED = {
    "model": {"config", "errors", "model"},
    "tasks": {"errors", "tasks"},
    "data": {"data", "errors", "tasks"},
    "train": {"config", "data", "errors", "evaluate", "model", "pretrained", "tasks", "train"},
    "evaluate": {"config", "data", "errors", "evaluate", "model", "tasks"},
}
NOBODY_BELOW = {"cli", "experiments"}  # only cli imports experiments; nothing imports cli
TASK_FAMILY = re.compile(
    r"^(tasks/(sudoku|maze|arc|grid)\w*|data/build_(sudoku|maze|arc)|viz/(sudoku|maze|arc)|"
    r"evaluate/arc|data/readers)\.py$"
)
TASK_NAME = re.compile(r"""["'](sudoku|maze|arc)\d*["']""")


def imports(path: Path) -> set[str]:
    """The first component after `latentloop.` of every import in a file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] if node.module != "latentloop" else [f"latentloop.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        found |= {n.split(".")[1] for n in names if n.startswith("latentloop.")}
    return found


def test_packages_import_only_what_the_design_allows() -> None:
    bad = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC)
        layer = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        used = imports(path)
        if layer in ALLOWED and not used <= ALLOWED[layer]:
            bad.append(f"{rel}: {sorted(used - ALLOWED[layer])}")
        if layer != "cli" and used & NOBODY_BELOW:
            bad.append(f"{rel}: imports {sorted(used & NOBODY_BELOW)}")
    assert not bad, bad


def test_no_task_names_outside_a_tasks_own_modules() -> None:
    offenders = [
        f"{path.relative_to(SRC)}:{i}"
        for path in SRC.rglob("*.py")
        if not TASK_FAMILY.match(str(path.relative_to(SRC)))
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if TASK_NAME.search(line.split("#")[0]) and not line.strip().startswith(('"""', "name:"))
    ]
    assert not offenders, offenders
