"""The best candidate's export (results.export_best): a complete best/ survives an interruption."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from simkit.optimise import results
from simkit.runtime import files


def _candidate(run_dir: Path, cid: int) -> dict:
    workdir = run_dir / "candidates" / f"{cid:04d}"
    workdir.mkdir(parents=True)
    (workdir / "model.snapcoeff").write_text(f"coefficients of candidate {cid}\n")
    (workdir / "metrics.json").write_text(json.dumps({"id": cid}) + "\n")
    spec = {"kind": "snap", "coeff": str(workdir / "model.snapcoeff")}
    return {"id": cid, "status": "ok", "source": "optimiser", "params": {"snap.rcutfac": 4.0 + cid},
            "objective": 1.0 / cid, "loss": 1.0 / cid, "speed_per_core": None, "relative_speed": None,
            "cost": None, "survival": None, "workdir": str(workdir), "outcome": {"artefacts": {"potential": spec}}}


def _complete_best(path: Path) -> int:
    """The candidate id of a complete export at ``path`` (every file it names is there)."""
    record = json.loads((path / results.PROVENANCE_JSON).read_text())
    assert (path / "potential.yaml").is_file() and (path / "model.snapcoeff").is_file()
    assert (path / "metrics.json").is_file()
    return record["candidate"]["id"]


def test_export_replaces_best_and_keeps_it_when_the_candidate_is_the_same(tmp_path):
    first = results.export_best(_candidate(tmp_path, 1), tmp_path, {"fingerprint": "f"})
    assert _complete_best(first) == 1
    stamp = (first / results.PROVENANCE_JSON).read_text()
    assert results.export_best(_candidate(tmp_path, 2), tmp_path, {}) == first and _complete_best(first) == 2
    assert (first / results.PROVENANCE_JSON).read_text() != stamp
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best", "candidates"]  # nothing left beside it


@pytest.mark.parametrize("cut_at", ["copying the files", "between the renames"])
def test_an_interrupted_export_keeps_a_complete_best(tmp_path, monkeypatch, cut_at):
    results.export_best(_candidate(tmp_path, 1), tmp_path, {})
    second = _candidate(tmp_path, 2)
    real_rename = os.rename

    def rename(src, dst):
        if Path(dst).name == results.BEST_DIR:
            raise KeyboardInterrupt  # killed with the old best/ moved aside and the new one not yet in place
        real_rename(src, dst)

    def copy(*args, **kwargs):
        raise KeyboardInterrupt  # killed while the new export is half built

    if cut_at == "between the renames":
        monkeypatch.setattr(files.os, "rename", rename)
    else:
        monkeypatch.setattr(results.shutil, "copy2", copy)
    with pytest.raises(KeyboardInterrupt):
        results.export_best(second, tmp_path, {})
    monkeypatch.undo()
    best = tmp_path / results.BEST_DIR
    survivor = best if best.exists() else tmp_path / f".{results.BEST_DIR}.previous"
    assert _complete_best(survivor) == 1  # the previous export, whole
    assert _complete_best(results.export_best(second, tmp_path, {})) == 2  # the next export completes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best", "candidates"]
