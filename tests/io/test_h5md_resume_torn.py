"""A resume never keeps a record whose step did not reach the disk (a SIGKILL mid-flush)."""

from __future__ import annotations

import numpy as np

from simkit.io.h5md_writer import _records_to_keep


def test_a_torn_record_and_what_follows_are_dropped():
    # Seen after a kill: a record counted as committed whose step reads as the fill value 0.
    steps = np.array([50, 100, 150, 0, 200])
    assert _records_to_keep(steps, 150) == 3
    assert _records_to_keep(steps, 1000) == 3
    assert _records_to_keep(steps, None) == 3


def test_ordinary_records_are_cut_after_the_restart_step():
    steps = np.array([0, 50, 100, 150])
    assert _records_to_keep(steps, 100) == 3
    assert _records_to_keep(steps, None) == 4
    assert _records_to_keep(steps, -1) == 0
    assert _records_to_keep(np.array([], dtype=np.int64), 10) == 0
