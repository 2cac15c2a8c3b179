"""Checkpoint bookkeeping without LAMMPS: table truncation, state round trip, naming what changed."""

from __future__ import annotations

import pytest

from simkit.drivers.md.records import CsvTable
from simkit.drivers.md.state import Checkpoint, RunState, first_difference
from simkit.errors import InputDataError


def test_table_reopened_keeps_its_first_rows(tmp_path):
    path = tmp_path / "t.csv"
    table = CsvTable(path, ["step", "value"], rank=0)
    table.append_rows([[1, 0.5], [2, 0.25], [3, 0.125]])
    again = CsvTable(path, ["step", "value"], rank=0, keep_rows=2)
    again.append_rows([[3, 9.0]])
    assert path.read_text().splitlines() == ["step,value", "1,0.5", "2,0.25", "3,9.0"]
    assert again.rows == 3
    with pytest.raises(InputDataError, match="columns differ"):
        CsvTable(path, ["step", "other"], rank=0, keep_rows=1)
    with pytest.raises(InputDataError, match="3 rows, the checkpoint expects 5"):
        CsvTable(path, ["step", "value"], rank=0, keep_rows=5)


def test_other_ranks_never_touch_the_file(tmp_path):
    table = CsvTable(tmp_path / "t.csv", ["a"], rank=1)
    table.append_rows([[1]])
    assert table.rows == 1 and not (tmp_path / "t.csv").exists()


def test_state_round_trip(tmp_path):
    checkpoint = Checkpoint("x.restart", segment=2, segment_begin_step=100, segment_begin_time_ps=0.2, step=150,
                            segment_complete=False, thermo_rows=7, profile_rows=70, flux_start_total_eV=-12.5)
    RunState("ab" * 32, checkpoint, attempts=[{"started": "t"}]).save(tmp_path, rank=0)
    loaded = RunState.load(tmp_path)
    assert loaded.checkpoint == checkpoint and loaded.protocol_sha256 == "ab" * 32 and not loaded.finished
    assert RunState.load(tmp_path / "elsewhere") is None


def test_first_difference_names_the_key():
    old = {"protocol": {"stages": [{"stage": "nve", "duration_ps": 1.0}], "seed": 1}}
    assert first_difference(old, old) is None
    new = {"protocol": {"stages": [{"stage": "nve", "duration_ps": 2.0}], "seed": 1}}
    assert first_difference(old, new) == "protocol.stages[0].duration_ps"
    longer = {"protocol": {"stages": [{"stage": "nve", "duration_ps": 1.0}] * 2, "seed": 1}}
    assert first_difference(old, longer) == "protocol.stages (length 1 -> 2)"
