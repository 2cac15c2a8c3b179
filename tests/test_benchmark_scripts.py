"""Benchmark scripts run rarely and by hand, so a renamed simkit function breaks them silently: every
simkit name they import (lazy imports included) must exist, and every script must parse and show --help."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py"))


def _simkit_imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "simkit":
            for alias in node.names:
                yield node.lineno, node.module, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "simkit":
                    yield node.lineno, alias.name, None


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda p: p.name)
def test_every_simkit_name_a_benchmark_imports_exists(script):
    missing = []
    for line, module, name in _simkit_imports(script):
        imported = importlib.import_module(module)
        if name is not None and not hasattr(imported, name):
            try:
                importlib.import_module(f"{module}.{name}")
            except ImportError:
                missing.append(f"{script.name}:{line}: {module}.{name}")
    assert not missing, "benchmark imports names simkit no longer has: " + ", ".join(missing)


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda p: p.name)
def test_every_benchmark_shows_its_help(script):
    done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
