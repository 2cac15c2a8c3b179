"""Building, caching and loading the plugin (simkit.lammps.pace_plugin)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simkit.errors import BackendSetupError
from simkit.lammps import pace_plugin
from tests.ace import helpers

REPO = Path(__file__).resolve().parents[2]


def test_plugin_path_is_stable_and_keyed(plugin_path, monkeypatch):
    assert plugin_path.is_file()
    assert pace_plugin.plugin_path(build=False) == plugin_path
    assert plugin_path.parent.parent == Path(os.environ["SIMKIT_CACHE_DIR"])
    # a different instruction-set choice is a different binary
    monkeypatch.setenv("SIMKIT_PACE_NATIVE", "0")
    assert pace_plugin.plugin_path(build=False) != plugin_path


def test_source_change_changes_the_key(tmp_path, monkeypatch):
    copy = tmp_path / "pace"
    copy.mkdir()
    for src in pace_plugin.SOURCE_DIR.iterdir():
        if src.suffix in (".cpp", ".h"):
            (copy / src.name).write_bytes(src.read_bytes())
    before = pace_plugin.plugin_path(build=False)
    monkeypatch.setattr(pace_plugin, "SOURCE_DIR", copy)
    assert pace_plugin.plugin_path(build=False) == before
    (copy / "ace_model.h").write_text((copy / "ace_model.h").read_text() + "\n// edited\n")
    assert pace_plugin.plugin_path(build=False) != before


def test_missing_compiler_is_a_setup_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-g++"))
    with pytest.raises(BackendSetupError, match=r"\$CXX"):
        pace_plugin.build_plugin()


def test_compiler_failure_shows_its_stderr(tmp_path, monkeypatch):
    fake = tmp_path / "fake-g++"
    fake.write_text("#!/bin/sh\nif [ \"$1\" = --version ]; then echo fake 1.0; exit 0; fi\n"
                    "echo 'pair_pace_simkit.cpp:1: error: simulated failure' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("SIMKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CXX", str(fake))
    with pytest.raises(BackendSetupError, match="simulated failure") as info:
        pace_plugin.build_plugin()
    assert "building simkit's ACE plugin failed" in str(info.value)
    assert not list((tmp_path / "cache" / "lammps-plugins").glob("*.so"))


def test_missing_headers_is_a_setup_error(tmp_path, monkeypatch):
    monkeypatch.setattr(pace_plugin, "_lammps_package_dir", lambda: tmp_path)
    with pytest.raises(BackendSetupError, match="pair.h"):
        pace_plugin.plugin_path(build=False)


_LOAD_TWICE = """
import simkit, lammps
from simkit.lammps.pace_plugin import ensure_pace
args = ["-screen", "none", "-log", "none", "-nocite"]
first = lammps.lammps(cmdargs=args)
print(first.has_style("pair", "pace"))
print(ensure_pace(first))
print(ensure_pace(first))
second = lammps.lammps(cmdargs=args)  # a second live instance needs the style too
print(ensure_pace(second).split(":")[0], second.has_style("pair", "pace"))
first.close()
second.command("units metal")
second.command("region box block 0 6 0 6 0 6")
second.command("create_box 1 box")
second.command("create_atoms 1 single 1 1 1")
second.command("create_atoms 1 single 3.3 1 1")
second.command("mass 1 28")
second.command("pair_style pace")
second.command("pair_coeff * * {model} Si")
second.command("run 0")
print(second.get_thermo("pe"))
"""


def test_ensure_pace_loads_once(plugin_path, tmp_path):
    """In a fresh process: load on first call, recognise our plugin on the second."""
    model = helpers.random_model(tmp_path / "si.yace", ("Si",), 10, [4, 2], [0, 1], seed=2)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    run = subprocess.run([sys.executable, "-c", _LOAD_TWICE.format(model=model)], env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert lines[0] == "False"
    assert lines[1] == f"plugin:{plugin_path}"
    assert lines[2] == "plugin"
    assert lines[3] == "plugin True"
    assert float(lines[4]) != 0.0  # the style still works after the loading instance is gone


class _FakeLammps:
    def __init__(self, styles, packages=("PLUGIN",)):
        self.styles, self.installed_packages, self.commands = set(styles), list(packages), []

    def has_style(self, category, name):
        return name in self.styles

    def command(self, line):
        self.commands.append(line)


def test_ensure_pace_prefers_a_native_style():
    fake = _FakeLammps({"pace"})
    assert pace_plugin.ensure_pace(fake) == "native"
    assert fake.commands == []


def test_ensure_pace_needs_the_plugin_package():
    with pytest.raises(BackendSetupError, match="PLUGIN"):
        pace_plugin.ensure_pace(_FakeLammps(set(), packages=()))


_RACE = """
import sys
from simkit.lammps.pace_plugin import build_plugin
print(build_plugin())
"""


@pytest.mark.slow
def test_concurrent_builds_produce_one_plugin(tmp_path):
    env = dict(os.environ, SIMKIT_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(REPO))
    procs = [subprocess.Popen([sys.executable, "-c", _RACE], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    paths = {out.strip().splitlines()[-1] for out, _ in outs}
    assert len(paths) == 1
    built = list((tmp_path / "cache" / "lammps-plugins").glob("*.so"))
    assert [str(p) for p in built] == list(paths)
    assert not list((tmp_path / "cache" / "lammps-plugins").glob(".build-*"))
    # and the object is a loadable plugin
    lmp = helpers.lammps_instance()
    try:
        lmp.command(f'plugin load "{built[0]}"')
        assert lmp.has_style("pair", "pace")
    finally:
        lmp.close()


# -- cache integrity: a private directory, and objects checked against the SHA-256 recorded at build time --
_FAKE_CXX = """#!/bin/sh
if [ "$1" = --version ]; then echo fake 1.0; exit 0; fi
out=""; prev=""; link=no
for arg in "$@"; do
  [ "$prev" = "-o" ] && out="$arg"
  [ "$arg" = "-shared" ] && link=yes
  prev="$arg"
done
[ "$link" = yes ] && echo link >> "$(dirname "$0")/links.log"
printf 'fake object\\n' > "$out"
"""


@pytest.fixture
def fake_compiler(tmp_path, monkeypatch) -> Path:
    """A compiler that writes a small file per object and counts links; returns the count's log."""
    cxx = tmp_path / "fake-g++"
    cxx.write_text(_FAKE_CXX)
    cxx.chmod(0o755)
    monkeypatch.setenv("CXX", str(cxx))
    monkeypatch.setenv("SIMKIT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "links.log"


def _links(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.is_file() else 0


class _LoadingLammps(_FakeLammps):
    """Records the bytes of each plugin it is asked to load."""

    def __init__(self):
        super().__init__(set())
        self.loaded: list[bytes] = []

    def command(self, line):
        super().command(line)
        self.loaded.append(Path(line.removeprefix("plugin load ").strip('"')).read_bytes())
        self.styles |= {"pace", "pace/simkit"}


def test_reuse_skips_the_build_and_the_cache_is_private(fake_compiler, tmp_path):
    path = pace_plugin.plugin_path(build=True)
    assert pace_plugin.plugin_path(build=True) == path and _links(fake_compiler) == 1
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    for directory in (tmp_path / "cache", path.parent):
        assert directory.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("damage", ["append a byte", "lose the record"])
def test_an_object_failing_its_check_is_rebuilt_never_loaded(fake_compiler, damage):
    path = pace_plugin.build_plugin()
    built = path.read_bytes()
    if damage == "append a byte":
        with path.open("ab") as handle:
            handle.write(b"\0")
    else:
        path.with_suffix(".json").unlink()
    lmp = _LoadingLammps()
    assert pace_plugin.ensure_pace(lmp) == f"plugin:{path}"
    assert lmp.loaded == [built] and _links(fake_compiler) == 2


def test_a_cache_others_can_write_is_refused(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o775)
    monkeypatch.setenv("SIMKIT_CACHE_DIR", str(cache))
    with pytest.raises(BackendSetupError, match=r"writable by group or others \(mode 775\)"):
        pace_plugin.plugin_path(build=True)
    assert list(cache.iterdir()) == []  # refused, not repaired: nothing built or loaded there


def test_a_cache_owned_by_someone_else_is_refused(tmp_path, monkeypatch):
    from simkit.runtime import paths

    monkeypatch.setenv("SIMKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(paths.os, "getuid", lambda: os.stat(tmp_path).st_uid + 1)
    with pytest.raises(BackendSetupError, match="owned by another user"):
        pace_plugin.plugin_path(build=True)
