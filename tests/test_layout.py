"""The house: one package per pipeline stage, imports that point one way, and public faces that
pages and other stages use and that are light to import.

Read from the source (every import, also those inside functions or under TYPE_CHECKING, since a
function-local import is how a loop hides), so a new arrow upward fails here, not in review.
"""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest
from paths import ROOT

# The flow, bottom up: a stage may import the stages before it, never one after it.
STAGES = ["detect", "ingest", "embed", "cluster", "review", "export", "evaluate", "train", "report"]
# What every stage builds on; these import no stage.
FOUNDATIONS = {"store", "settings", "common", "cli_base", "workspace_lock", "processes", "sql_filter", "endpoint"}
FACES = ["ingest", "embed", "cluster", "review", "train"]
HEAVY = ("torch", "sklearn", "umap", "plotly", "sentence_transformers", "hdbscan", "streamlit", "transformers")


def module_name(path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in (ROOT / "mining").rglob("*.py")}


def imported(name: str) -> set[str]:
    """The mining modules `name` imports, anywhere in its source."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:  # `from mining.ingest import rows` imports the module, not the face
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: imported(name) for name in MODULES}


def stage_of(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_there_are_no_import_loops():
    state: dict[str, str] = {}
    loops: list[list[str]] = []

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for other in sorted(GRAPH[name]):
            if state.get(other) == "open":
                loops.append(path[path.index(other):] + [other])
            elif other not in state:
                visit(other, path + [other])
        state[name] = "done"

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])
    assert not loops, loops


def test_imports_point_down_the_flow():
    upward = [(name, other) for name, others in GRAPH.items() for other in others
              if stage_of(name) in STAGES and stage_of(other) in STAGES
              and STAGES.index(stage_of(other)) > STAGES.index(stage_of(name))]
    below = [(name, other) for name, others in GRAPH.items() if stage_of(name) in FOUNDATIONS
             for other in others if stage_of(other) not in FOUNDATIONS]
    assert not upward and not below, (upward, below)


def test_a_stage_uses_another_stage_through_its_face_and_never_its_own():
    """Across packages the face (`from mining.review import ...`); inside one, the module itself, as
    importing one's own face from within would import the package half made."""
    crossing, own = [], []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mining.")):
                continue
            target = node.module.split(".")
            if target[1] not in FACES:
                continue
            if stage_of(name) == target[1] and len(target) == 2 \
                    and any(f"{node.module}.{alias.name}" not in MODULES for alias in node.names):
                own.append((name, node.module))
            if stage_of(name) != target[1] and len(target) > 2 and target[2] != "cli" and name != "mining.__main__":
                crossing.append((name, node.module))
    assert not own and not crossing, (own, crossing)


def test_the_pages_use_the_faces():
    deep = []
    for path in [*(ROOT / "views").glob("*.py"), ROOT / "ui.py", ROOT / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.count(".") >= 2 \
                    and node.module.split(".")[1] in FACES:
                deep.append((path.name, node.module))
    assert not deep, deep


@pytest.mark.parametrize("face", FACES)
def test_a_face_is_light_to_import(face):
    code = f"import sys, mining.{face}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == ""


@pytest.mark.parametrize("face", FACES)
def test_a_face_names_only_what_it_has(face):
    module = __import__(f"mining.{face}", fromlist=["__all__"])
    assert module.__all__ and all(hasattr(module, name) for name in module.__all__)


def test_every_stage_has_its_command_line_beside_it():
    for stage in ["ingest", "embed", "cluster", "review", "export", "evaluate", "train", "report", "access"]:
        assert f"mining.{stage}.cli" in GRAPH["mining.__main__"], stage
    assert len(MODULES["mining.__main__"].read_text().splitlines()) < 150  # it registers; the stages command


def test_the_shared_small_pieces_have_one_home():
    defined = [(name, node.targets[0].id if isinstance(node, ast.Assign) else node.name)
               for name, path in MODULES.items() for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
               if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                   and node.targets[0].id in {"Progress", "UNCLUSTERED"})
               or (isinstance(node, ast.FunctionDef) and node.name == "now_utc")]
    assert sorted(defined) == [("mining.common", "Progress"), ("mining.common", "now_utc")]


def test_no_page_has_a_bare_expression_streamlit_would_print():
    """Streamlit's magic writes any bare expression of a page script to the page (once, a model
    folder in a code box while Clusters ran); calls, docstrings and yields are left alone."""
    printed = []
    for path in [*(ROOT / "views").glob("*.py"), ROOT / "app.py"]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(body[0]) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and (body := node.body)}
        printed += [f"{path.name}:{node.lineno}" for node in ast.walk(tree)
                    if isinstance(node, ast.Expr) and id(node) not in docstrings
                    and not isinstance(node.value, (ast.Call, ast.Yield, ast.YieldFrom, ast.Await))]
    assert not printed, printed
