"""``simkit diffusion --resume RUN_DIR`` (and ``--analyse-only RUN_DIR``) on a run directory whose
``diffusion_config.json`` was damaged: refused with one line naming the file (exit 2), before the directory is
locked or anything in it is written; never a traceback."""

from __future__ import annotations

import json

import pytest
import yaml

from simkit.config import load_config
from simkit.diffusion.config import DiffusionConfig
from simkit.diffusion.driver import CONFIG_FILE, save_config, saved_config
from tests.conftest import run_cli
from tests.diffusion.test_md import _config

# (damaged text or bytes from the valid record's text, words the line must hold)
CASES = {
    "truncated": (lambda text: text[: len(text) // 2], "unreadable run config"),
    "not-json": (lambda text: "diffusion: yes\n", "unreadable run config: Expecting value"),
    "not-utf8": (lambda text: b"\xff\xfe" + text.encode(), "unreadable run config"),
    "empty": (lambda text: "", "unreadable run config"),
    "a-list": (lambda text: "[1, 2]", "expected a mapping of keys, got list"),
    "nested-deep": (lambda text: "[" * 200_000 + "]" * 200_000, "nested too deeply"),
    "wrong-type": (lambda text: _edit(text, temperatures_K="hot"), "key 'temperatures_K'"),
    "unknown-key": (lambda text: _edit(text, bogus_key=1), "unknown key 'bogus_key'"),
    "nan": (lambda text: _edit(text, timestep_fs=float("nan")), "key 'timestep_fs'"),
}


def _edit(text: str, **changes) -> str:
    return json.dumps(json.loads(text) | changes)


@pytest.fixture
def run(tmp_path):
    """A run directory as a killed run leaves it: the saved config and a temperature's files."""
    config = load_config(DiffusionConfig, _config(tmp_path / "diffusion.yaml", output_dir=str(tmp_path / "run")))
    save_config(config, rank=0)
    folder = tmp_path / "run" / "T1900K"
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "thermo.csv").write_text("stage,step\nhold,25\n")
    (folder / "checkpoints" / "state.json").write_text("{}")
    return tmp_path / "run"


def _contents(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_the_saved_config_is_read_back_when_intact(run):
    config = saved_config(run)
    assert config.temperatures_K == [1900, 2300] and config.output_dir == run.resolve()


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_damaged_run_config_is_refused_by_name_touching_nothing(case, run):
    path = run / CONFIG_FILE
    damage, words = CASES[case]
    damaged = damage(path.read_text())
    path.write_bytes(damaged if isinstance(damaged, bytes) else damaged.encode())
    before = _contents(run)
    flag = "--analyse-only" if case == "a-list" else "--resume"  # both read the record the same way
    try:
        result = run_cli("diffusion", flag, str(run), "--no-progress", timeout=120)
        after = _contents(run)
    finally:
        path.unlink()  # the summary scan of every test's folder would (rightly) flag the damaged record
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith(f"simkit diffusion: error: {path}: ") and words in lines[0], lines[0]
    assert "--resume" in lines[0]  # what to do instead
    assert after == before  # no lock, no summary, nothing rewritten


def test_a_yaml_text_in_place_of_the_record_is_refused_not_guessed(run):
    # YAML is a superset of JSON, but the record is read as JSON only: a YAML text is refused, not guessed.
    path = run / CONFIG_FILE
    path.write_text(yaml.safe_dump(json.loads(path.read_text())))
    try:
        result = run_cli("diffusion", "--resume", str(run), "--no-progress", timeout=120)
    finally:
        path.unlink()
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "unreadable run config" in result.stderr
