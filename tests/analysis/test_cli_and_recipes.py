"""`simkit analyse FILE NAME` for every analysis, its errors, and the recipes in analysis/."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk

from simkit.analysis import ANALYSES
from simkit.cli.main import main
from simkit.io import H5mdWriter, ObservableSpec
from tests.conftest import REPO, run_cli

RECIPES = REPO / "analysis"


def _write_run(directory: Path, rng, rattle: float, frames: int = 6) -> Path:
    """A run directory with a small thermally rattled Cu crystal trajectory."""
    directory.mkdir(parents=True, exist_ok=True)
    atoms = bulk("Cu", "fcc", 3.615, cubic=True).repeat((3, 3, 4))
    path = directory / "trajectory.h5md"
    with H5mdWriter(path, observables=[ObservableSpec("temperature", "K")]) as writer:
        drift = np.zeros_like(atoms.positions)
        for k in range(frames):
            drift += rng.normal(0.0, 0.05, drift.shape)
            writer.append_frame(step=100 * k, time_ps=0.1 * k, positions_A=atoms.positions + drift
                                + rng.normal(0.0, rattle, drift.shape), cell_A=np.array(atoms.cell),
                                symbols=atoms.get_chemical_symbols())
            writer.append_observables(step=100 * k, time_ps=0.1 * k, values={"temperature": 300.0})
    return path


@pytest.fixture
def run_dir(tmp_path, rng) -> Path:
    _write_run(tmp_path / "run", rng, rattle=0.08)
    return tmp_path / "run"


EXTRA = {"crystallinity": ["--reference-lattice", "fcc Cu 3.615", "--slabs", "2"],
         "grains": ["--reference-lattice", "fcc Cu 3.615"],
         "angles": ["--cutoff-A", "3.0"], "coordination": ["--pair-cutoffs-A", "Cu-Cu=3.0"]}


@pytest.mark.parametrize("name", sorted(ANALYSES))
def test_every_analysis_writes_numbers_figure_and_summary(run_dir, name):
    code = main(["analyse", str(run_dir / "trajectory.h5md"), name, "--no-progress", *EXTRA.get(name, [])])
    assert code == 0
    out = run_dir / "analysis" / name
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["status"] == "finished" and summary["command"] == f"analyse {name}"
    assert summary["inputs"][0]["sha256"]
    for kind in ("hdf5", "csv", "png"):
        assert Path(summary["outputs"][kind]).is_file()
    header = Path(summary["outputs"]["csv"]).read_text().splitlines()[0]
    assert any(unit in header for unit in ("_A", "_ps", "_deg", "step", "fraction")), header
    import h5py

    with h5py.File(summary["outputs"]["hdf5"]) as f:
        datasets = []
        f.visititems(lambda key, obj: datasets.append(obj) if isinstance(obj, h5py.Dataset) else None)
        assert datasets and all("units" in d.attrs for d in datasets)


def test_results_are_physical(run_dir):
    assert main(["analyse", str(run_dir / "trajectory.h5md"), "crystallinity", "--no-progress",
                 "--method", "bond_order", "--q-cutoff-A", "3.35"]) == 0
    summary = json.loads((run_dir / "analysis/crystallinity/run_summary.json").read_text())
    assert summary["results"]["summary"]["mean_fraction"] > 0.95
    assert main(["analyse", str(run_dir / "trajectory.h5md"), "rdf", "--no-progress", "-o", "rdf_out"]) == 0
    summary = json.loads(Path("rdf_out/run_summary.json").read_text())
    assert summary["results"]["summary"]["first_peak_A"]["Cu-Cu"] == pytest.approx(3.615 / np.sqrt(2), abs=0.05)


def test_rdf_summary_first_peak_is_the_first_shell_not_the_highest(tmp_path, rng):
    # In diamond Si the second shell (12 atoms at 3.84 Å) is higher than the first (4 at 2.35 Å).
    silicon = bulk("Si", "diamond", 5.431, cubic=True).repeat((3, 3, 3))
    path = tmp_path / "si.h5md"
    with H5mdWriter(path) as writer:
        for k in range(2):
            writer.append_frame(step=k, time_ps=0.001 * k, cell_A=np.array(silicon.cell),
                                positions_A=silicon.positions + rng.normal(0.0, 0.03, silicon.positions.shape),
                                symbols=silicon.get_chemical_symbols())
    assert main(["analyse", str(path), "rdf", "--no-progress", "-o", "si_rdf"]) == 0
    peak = json.loads(Path("si_rdf/run_summary.json").read_text())["results"]["summary"]["first_peak_A"]["Si-Si"]
    assert peak == pytest.approx(5.431 * np.sqrt(3) / 4, abs=0.03)
    table = np.genfromtxt("si_rdf/rdf.csv", delimiter=",", names=True)
    r, g = table["r_A"], table["g_SiSi"]
    at_peak = int(np.argmin(np.abs(r - peak)))
    assert g[at_peak] == g[r < 3.0].max() > 1.0  # the CSV's first shell peaks where the summary says
    assert g.max() > g[at_peak]  # ...and it is not the global maximum


def test_bad_options_are_one_line_errors(run_dir):
    result = run_cli("analyse", str(run_dir / "trajectory.h5md"), "rdf", "--r-max-A", "-2")
    assert result.returncode == 2
    assert result.stderr.strip() == ("simkit analyse: error: simkit analyse rdf: key 'r_max_A' = '-2': "
                                     "Input should be greater than 0")
    result = run_cli("analyse", "missing.h5md", "msd")
    assert result.returncode == 2 and "missing.h5md: trajectory file not found" in result.stderr
    result = run_cli("analyse", str(run_dir / "trajectory.h5md"), "msd", "--start-ps", "50")
    assert result.returncode == 2 and "no frames selected (6 frames, 0-0.5 ps" in result.stderr


@pytest.mark.mpi
def test_analyse_under_mpirun_writes_once(run_dir):
    result = run_cli("analyse", str(run_dir / "trajectory.h5md"), "rdf", "--no-progress", "-o", "mpi_rdf", np_ranks=2)
    assert result.returncode == 0, result.stderr
    assert json.loads(Path("mpi_rdf/run_summary.json").read_text())["status"] == "finished"


def _recipe(name: str, *args: str):
    return subprocess.run([sys.executable, str(RECIPES / name), *args], capture_output=True, text=True, timeout=300)


def test_recipe_rdf_compare(tmp_path, rng):
    _write_run(tmp_path / "cold", rng, rattle=0.03)
    _write_run(tmp_path / "hot", rng, rattle=0.25)
    assert "RUN_A RUN_B" in _recipe("rdf_compare.py", "--help").stdout
    result = _recipe("rdf_compare.py", str(tmp_path / "cold"), str(tmp_path / "hot"), "--labels", "cold", "hot",
                     "-o", str(tmp_path / "cmp.png"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cmp.png").stat().st_size > 1000
    header = (tmp_path / "cmp.csv").read_text().splitlines()[0]
    assert header == "r_A,g_Cu-Cu_cold,g_Cu-Cu_hot"
    assert "cold: 6 frames; first peaks Cu-Cu 2.5" in result.stdout


def test_recipe_crystallinity_vs_time(tmp_path, run_dir):
    assert "--reference-lattice" in _recipe("crystallinity_vs_time.py", "--help").stdout
    result = _recipe("crystallinity_vs_time.py", str(run_dir), "--method", "bond_order", "--q-cutoff-A", "3.35",
                     "--slabs", "3", "-o", str(tmp_path / "figs" / "cvt.png"))
    assert result.returncode == 0, result.stderr
    assert "6 frames, crystalline fraction 1.000 -> 1.000" in result.stdout
    for suffix in (".png", ".csv", ".h5"):
        assert (tmp_path / "figs" / f"cvt{suffix}").is_file()
    result = _recipe("crystallinity_vs_time.py", str(tmp_path / "nowhere"))
    assert result.returncode != 0 and "no such run directory" in result.stderr
