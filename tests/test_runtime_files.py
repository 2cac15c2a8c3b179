"""Crash-consistent files (simkit.runtime.files): old content or new, never half of one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simkit.runtime import files
from simkit.runtime.files import atomic_write_text, replace_directory, restore_directory

REPO = Path(__file__).resolve().parents[1]


def test_atomic_write_keeps_the_old_content_when_the_rename_fails(tmp_path, monkeypatch):
    target = atomic_write_text(tmp_path / "state.json", '{"step": 1}\n')

    def killed(*args):
        raise KeyboardInterrupt  # as if the process stopped between writing and renaming

    monkeypatch.setattr(files.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(target, '{"step": 2}\n')
    assert target.read_text() == '{"step": 1}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary file left behind


def test_atomic_write_uses_the_umask_like_any_new_file(tmp_path):
    mask = os.umask(0o022)
    os.umask(mask)
    path = atomic_write_text(tmp_path / "summary.json", "{}\n")
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


_WRITER = """
import json, sys
from simkit.runtime.files import atomic_write_text
path = sys.argv[1]
print("ready", flush=True)
for i in range(10**9):
    atomic_write_text(path, json.dumps({"i": i, "pad": "x" * (1 << 16) * (1 + i % 3)}))
"""


def test_atomic_write_killed_at_random_leaves_a_whole_file(tmp_path):
    target = tmp_path / "state.json"
    atomic_write_text(target, json.dumps({"i": -1}))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for delay in (0.05, 0.11, 0.23):
        with subprocess.Popen([sys.executable, "-c", _WRITER, str(target)], env=env, stdout=subprocess.PIPE) as process:
            assert process.stdout.readline().strip() == b"ready"
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
        content = json.loads(target.read_text())  # parses: the old or a new whole file
        assert isinstance(content["i"], int)


def _tree(path: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(path.iterdir())}


def test_replace_directory_cut_between_its_renames_keeps_the_previous_one(tmp_path, monkeypatch):
    best, new = tmp_path / "best", tmp_path / ".best.new"
    best.mkdir()
    (best / "potential.yaml").write_text("old\n")
    new.mkdir()
    (new / "potential.yaml").write_text("new\n")
    renames = []
    real_rename = os.rename

    def rename(src, dst):
        renames.append(Path(dst).name)
        if len(renames) == 2:
            raise KeyboardInterrupt  # killed after moving the old one aside, before the new one is in place
        real_rename(src, dst)

    monkeypatch.setattr(files.os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        replace_directory(new, best)
    monkeypatch.setattr(files.os, "rename", real_rename)
    assert not best.exists() and _tree(tmp_path / ".best.previous") == {"potential.yaml": "old\n"}
    restore_directory(best)
    assert _tree(best) == {"potential.yaml": "old\n"}
    replace_directory(new, best)
    assert _tree(best) == {"potential.yaml": "new\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]
