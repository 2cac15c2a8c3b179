"""`simkit ace check` and `simkit ace build` from the installed command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ace import helpers
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "si.yace"
    return helpers.random_model(path, ("Si",), 30, [6, 3, 2], [0, 2, 1], seed=9)


def test_ace_build_prints_the_cached_plugin(plugin_path):
    result = run_cli("ace", "build")
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip().splitlines()[-1]) == plugin_path


def test_ace_check_default_structures(model):
    result = run_cli("ace", "check", str(model), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["passed"] is True
    assert [s["name"] for s in report["structures"]] == ["rattled bulk", "surface slab", "compressed cell"]
    assert report["max_energy_diff_eV_per_atom"] <= 1e-8
    assert report["max_force_diff_eV_per_A"] <= 1e-7
    assert report["max_virial_diff_eV"] <= 1e-6


def test_ace_check_given_structures(model, tmp_path):
    from ase.io import write

    frames = [helpers.check_structures(model, ("Si",), close_A=2.0)[k] for k in ("close contact", "surface slab")]
    path = tmp_path / "frames.extxyz"
    write(path, frames)
    result = run_cli("ace", "check", str(model), "--structure", str(path))
    assert result.returncode == 0, result.stderr
    assert "frames.extxyz:0" in result.stdout and "frames.extxyz:1" in result.stdout
    assert "within tolerances" in result.stdout


def test_ace_check_fails_loudly_on_an_impossible_tolerance(model):
    result = run_cli("ace", "check", str(model), "--tol-force", "0")
    assert result.returncode == 1
    assert "DIFFERENCES EXCEED TOLERANCES" in result.stdout


def test_ace_check_reports_a_broken_file(model, tmp_path):
    broken = tmp_path / "broken.yace"
    broken.write_text(model.read_text().replace("radbasename: SBessel", "radbasename: Bessel9", 1))
    result = run_cli("ace", "check", str(broken))
    assert result.returncode != 0
    assert "radbasename" in result.stderr and "Bessel9" in result.stderr


NESTED = "line 1: nested more than 64 levels deep; not an ACE potential"


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"elements: [Si]\n\xff\xfe: 1\n",
         "not a text file (byte 0xff at offset 15 is not UTF-8); a .yace potential is YAML text"),
        (b"elements: " + b"[" * 5000 + b"]" * 5000 + b"\n", NESTED),
        (b"elements: " + b"{a: " * 300_000 + b"}" * 300_000 + b"\n", NESTED),
    ],
    ids=["not utf-8", "nested 5000 deep", "nested 300000 deep"],
)
def test_ace_check_refuses_unreadable_files_in_one_line(tmp_path, content, expected):
    path = tmp_path / "odd.yace"
    path.write_bytes(content)
    result = run_cli("ace", "check", str(path), timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == f"simkit ace: error: {path}: {expected}"
