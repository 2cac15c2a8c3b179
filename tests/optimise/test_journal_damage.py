"""A damaged ``journal.sqlite`` is refused by name (resuming would replay made-up points), and a config key
added to the fit schema later does not change the fingerprint of runs started before it."""

from __future__ import annotations

import sqlite3

import pytest

from simkit.errors import InputDataError
from simkit.fitting.snap import SnapSettings
from simkit.optimise.journal import JOURNAL_FILE, Journal, read_rows


@pytest.fixture
def run_dir(tmp_path):
    with Journal(tmp_path) as journal:
        journal.set_meta("fingerprint", "abc")
        for cid in (1, 2):
            journal.dispatch(cid, [4.0 + cid], {"snap.rcutfac": 4.0 + cid}, "initial", cid - 1, tmp_path / f"c{cid}")
    return tmp_path


def _corrupt_bytes(path):
    # the header of the second page (a table's b-tree page), as a disk or copy fault would
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page:page + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["not-sqlite", "pages-overwritten", "row-not-json", "truncated"])
def test_a_damaged_journal_is_refused_by_name_and_frees_its_lock(damage, run_dir):
    path = run_dir / JOURNAL_FILE
    if damage == "not-sqlite":
        path.write_bytes(b"garbage\x00\xff" * 10)
    elif damage == "pages-overwritten":
        _corrupt_bytes(path)
    elif damage == "row-not-json":
        with sqlite3.connect(path) as db:
            db.execute("UPDATE candidates SET point = '[1,' WHERE id = 2")
    else:
        path.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(InputDataError, match=f"{path}: damaged optimisation journal"):
        with Journal(run_dir) as journal:
            journal.rows()
            journal.told()
    with pytest.raises(InputDataError, match="damaged optimisation journal"):
        read_rows(run_dir)
    # The refusal released the journal's lock: after a restore the run can be opened again.
    path.unlink()
    with Journal(run_dir) as journal:
        assert journal.rows() == []


def test_an_intact_journal_still_opens(run_dir):
    rows = read_rows(run_dir)
    assert [r["id"] for r in rows] == [1, 2] and rows[1]["point"] == [6.0]


def test_an_unset_weight_search_leaves_the_dumped_snap_settings_as_they_were():
    # Run directories fingerprint this dump; runs started before the key existed must still resume.
    assert "weight_search" not in SnapSettings().model_dump(mode="json")
    assert SnapSettings(weight_search={}).model_dump(mode="json")["weight_search"]["draws"] > 0
