"""Imports sit at the top of each module, except the deliberately lazy ones, which say why.

A lazy import (inside a function) hides a dependency, so each one carries a comment on its line or
the line above, e.g. ``# lazy: keep `simkit --help` fast``. Consecutive imports form one block and
share the comment above the block's first line. Moving imports to the top can create import cycles,
which the second test catches by importing every module of the package in a fresh interpreter.
"""

from __future__ import annotations

import ast
import io
import subprocess
import sys
import tokenize
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "simkit"
# Tool directives are not reasons.
_PRAGMAS = ("# noqa", "# type:", "# pragma", "# fmt:")
_IMPORTS = (ast.Import, ast.ImportFrom)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _comment_lines(source: str) -> set[int]:
    """Line numbers that hold a comment which is not only a tool directive."""
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and not token.string.startswith(_PRAGMAS):
            lines.add(token.start[0])
    return lines


def _statement_lists(node: ast.AST):
    for field in ("body", "orelse", "finalbody"):
        value = getattr(node, field, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            yield value
    for handler in getattr(node, "handlers", []):
        yield handler.body
    for case in getattr(node, "cases", []):
        yield case.body


def _function_import_blocks(node: ast.AST, in_function: bool = False):
    """Runs of consecutive imports (lists of nodes) that execute inside a function."""
    in_function = in_function or isinstance(node, _FUNCTIONS)
    for statements in _statement_lists(node):
        block: list[ast.stmt] = []
        for statement in statements:
            if isinstance(statement, _IMPORTS):
                block.append(statement)
                continue
            if block and in_function:
                yield block
            block = []
        if block and in_function:
            yield block
    for child in ast.iter_child_nodes(node):
        yield from _function_import_blocks(child, in_function)


def _unexplained(path: Path) -> list[str]:
    source = path.read_text()
    blocks = list(_function_import_blocks(ast.parse(source, filename=str(path))))
    comments = _comment_lines(source) if blocks else set()
    found = []
    for block in blocks:
        first = block[0].lineno
        for statement in block:
            explained = {first - 1, first, statement.lineno} & comments
            if not explained:
                found.append((statement.lineno, f"{path.relative_to(PACKAGE.parent)}:{statement.lineno}: "
                                                f"{ast.unparse(statement)}"))
    return [line for _, line in sorted(found)]


def test_function_level_imports_say_why_they_are_lazy():
    found = [line for path in sorted(PACKAGE.rglob("*.py")) for line in _unexplained(path)]
    assert not found, (
        "imports inside functions without a comment saying why they are lazy; move them to the top of the "
        "module, or add a comment on the import line or the line above (e.g. `# lazy: keep `simkit --help` "
        "fast`):\n  " + "\n  ".join(found)
    )


def test_rule_sees_imports_in_nested_blocks(tmp_path, monkeypatch):
    """The check itself: imports under try/if/with in a function count, module-level ones do not."""
    package = tmp_path / "simkit"
    package.mkdir()
    (package / "sample.py").write_text(
        "import os\n"
        "def f():\n"
        "    try:\n"
        "        import json\n"
        "    except ImportError:\n"
        "        pass\n"
        "    # lazy: a reason\n"
        "    import csv\n"
        "    import re\n"
        "    x = 1\n"
        "    import math  # lazy: a reason on the line\n"
        "    x = 2\n"
        "    import shutil  # noqa: F401\n"
        "class C:\n"
        "    import glob\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", package)
    found = _unexplained(package / "sample.py")
    assert [line.split(": ", 1)[0] for line in found] == ["simkit/sample.py:4", "simkit/sample.py:13"]


_IMPORT_ALL = """
import importlib, pkgutil, sys, traceback
import simkit
names = sorted(m.name for m in pkgutil.walk_packages(simkit.__path__, "simkit.")
               if not m.name.endswith(".__main__"))
failed = []
for name in (reversed(names) if sys.argv[1] == "reversed" else names):
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + ":\\n" + traceback.format_exc(limit=-3))
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_module_imports_in_a_fresh_interpreter():
    """Import every module of simkit, in name order and in reverse (a cycle often shows in one order only)."""
    runs = {order: subprocess.Popen([sys.executable, "-c", _IMPORT_ALL, order], stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, cwd=PACKAGE.parent)
            for order in ("sorted", "reversed")}
    for order, process in runs.items():
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, f"modules that fail to import ({order} order):\n{output}"
