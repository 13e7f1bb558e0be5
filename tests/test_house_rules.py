"""House rules: the engine never imports streamlit; every module has a docstring; every function is typed."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINE_MODULES = sorted(
    "indicators" if path.stem == "__init__" else f"indicators.{path.stem}"
    for path in (ROOT / "indicators").glob("*.py")
)
CHECKED_FILES = sorted(
    [
        *(ROOT / "indicators").glob("*.py"),
        *(ROOT / "ui").glob("*.py"),
        *(ROOT / "reporting").glob("*.py"),
    ]
)

# Imports each module in turn in a fresh interpreter and names the first one that pulled in
# streamlit (directly or through anything it imports).
IMPORT_PROBE = """
import importlib, json, sys
culprit = None
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
    if culprit is None and any(m == "streamlit" or m.startswith("streamlit.") for m in sys.modules):
        culprit = name
print(json.dumps({"culprit": culprit, "imported": sorted(json.loads(sys.argv[1]))}))
"""


def test_the_engine_never_imports_streamlit():
    assert "indicators.scoring" in ENGINE_MODULES and "indicators" in ENGINE_MODULES
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, json.dumps(ENGINE_MODULES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["culprit"] is None, f"importing {report['culprit']} imports streamlit"
    assert report["imported"] == ENGINE_MODULES


def test_the_engine_never_imports_the_presentation_layers():
    """indicators/ computes; ui/ and reporting/ present. Only the command line's `report`
    command, an entry point, reaches into reporting/."""
    offenders = []
    for path in (ROOT / "indicators").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            )
            for name in names:
                top = name.split(".")[0]
                if top == "ui" or (top == "reporting" and path.name != "__main__.py"):
                    offenders.append(f"{path.name} imports {name}")
    assert offenders == []


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", CHECKED_FILES, ids=_relative)
def test_every_module_has_a_one_line_docstring(path):
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert docstring, f"{_relative(path)} has no module docstring"
    assert len(docstring.strip().splitlines()) == 1, f"{_relative(path)}: the docstring is one line"


def _untyped_functions(tree: ast.Module) -> list[str]:
    """Functions (methods and nested ones included) lacking a parameter or return annotation.

    The first parameter of a method (self, cls) is exempt unless it is a staticmethod; lambdas
    are expressions, not functions, and are not checked. Dunder methods are not exempt.
    """
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    problems = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        arguments = node.args
        parameters = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        static = any(
            isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list
        )
        if isinstance(parents.get(node), ast.ClassDef) and not static and parameters:
            parameters = parameters[1:]
        missing = [p.arg for p in parameters if p.annotation is None]
        for star, prefix in ((arguments.vararg, "*"), (arguments.kwarg, "**")):
            if star is not None and star.annotation is None:
                missing.append(prefix + star.arg)
        if node.returns is None:
            missing.append("return")
        if missing:
            problems.append(f"line {node.lineno} {node.name}(): {', '.join(missing)}")
    return problems


@pytest.mark.parametrize("path", CHECKED_FILES, ids=_relative)
def test_every_function_has_type_hints(path):
    problems = _untyped_functions(ast.parse(path.read_text(encoding="utf-8")))
    assert not problems, f"{_relative(path)} lacks type hints:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f(a: int) -> int: ...", []),
        ("def f(a) -> int: ...", ["line 1 f(): a"]),
        ("def f(a: int): ...", ["line 1 f(): return"]),
        ("def f(*args, **kw) -> None: ...", ["line 1 f(): *args, **kw"]),
        ("class A:\n    def m(self, x: int) -> None: ...", []),
        ("class A:\n    def __init__(self) -> None: ...", []),
        ("class A:\n    def __init__(self): ...", ["line 2 __init__(): return"]),
        ("class A:\n    @staticmethod\n    def s(x) -> None: ...", ["line 3 s(): x"]),
        ("def f() -> None:\n    def g(y): ...", ["line 2 g(): y, return"]),
    ],
)
def test_the_type_hint_check_itself(source, expected):
    assert _untyped_functions(ast.parse(source)) == expected
