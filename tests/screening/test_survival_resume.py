"""A killed survival screen resumes from its journal and reports as the uninterrupted screen would."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest

from simkit.config import load_config
from simkit.errors import ConfigError, InputDataError
from simkit.runtime.paths import lammps_potentials_dir
from simkit.screening.config import SurviveConfig
from simkit.screening.detection import FailureMode
from simkit.screening.journal import JOURNAL_FILE, ReplicaJournal, open_journal, read_journal
from simkit.screening.replica import ReplicaResult, ReplicaStatus
from simkit.screening.settings import SurvivalSettings, SurvivalThresholds
from simkit.screening.survival import run_survival
from tests.conftest import BIN, run_cli
from tests.kill_anywhere import kill_anywhere
from tests.screening.helpers import si_cell, si_snap

# Cu (Zhou EAM) at two temperatures: the force limit is tight enough that the hot replicas fail at some
# step of their own (forces reach 5-10 eV/A at 2500 K), the cold ones survive (below 3 eV/A at 600 K);
# both kinds must come back from the journal unchanged.
CU_CONFIG = """\
output_dir: {out}
seed: 7
potential: {{kind: eam/alloy, file: {potential}}}
structure: {{bulk: {{element: Cu, crystal: fcc, a_A: 3.615, cubic: true}}}}
workers: {workers}
survival:
  temperatures_K: [600, 2500]
  replicas: {replicas}
  duration_ps: {duration_ps}
  target_atoms: {atoms}
  nve_duration_ps: 0.1
  check_every_steps: 25
  thresholds: {{max_force_eV_per_A: {max_force}}}
"""
SMALL = {"workers": 2, "replicas": 3, "duration_ps": 0.5, "atoms": 108, "max_force": 4.0,
         "potential": "lammps:Cu_zhou.eam.alloy"}

# Si SNAP, 8 atoms: a replica at 2500 K breaks this force limit within its first check; one at 50 K
# never would (see test_survival.py).
EARLY_STOP = SurvivalSettings(
    temperatures_K=[2500, 50], replicas=3, duration_ps=1000.0, target_atoms=8, nve_duration_ps=0,
    check_every_steps=20, thresholds=SurvivalThresholds(max_force_eV_per_A=2.0),
)

TIMING_KEYS = ("wall_s", "cpu_s")  # how long a replica took, not what it found


def write_config(path: Path, out: Path, **changes) -> Path:
    path.write_text(CU_CONFIG.format(out=out, **{**SMALL, **changes}))
    return path


def outcomes(report: dict) -> list[dict]:
    """Every replica of a survival.json as found, without its timings."""
    return [{k: v for k, v in replica.items() if k not in TIMING_KEYS} for replica in report["replicas"]]


def journal_indices(path: Path) -> list[int]:
    """Indices of the replica lines of a journal, duplicates included (whole lines only)."""
    lines = path.read_bytes().split(b"\n")[1:-1]
    return [json.loads(line)["result"]["index"] for line in lines if json.loads(line)["record"] == "replica"]


def tear(path: Path, keep: int) -> list[int]:
    """Leave the first line, ``keep`` replica lines and half of the next, as a kill mid-append would;
    returns the indices kept."""
    lines = path.read_bytes().split(b"\n")
    replicas = [line for line in lines[1:] if line and json.loads(line)["record"] == "replica"]
    assert len(replicas) > keep
    path.write_bytes(b"\n".join([lines[0], *replicas[:keep]]) + b"\n" + replicas[keep][: len(replicas[keep]) // 2])
    return [json.loads(line)["result"]["index"] for line in replicas[:keep]]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    """One screen run start to end: the reference every resumed screen must reproduce."""
    folder = tmp_path_factory.mktemp("survive-reference")
    done = run_cli("survive", str(write_config(folder / "survive.yaml", folder / "out")))
    assert done.returncode == 0, done.stderr
    return folder / "out"


def copy_run(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".simkit.lock"))
    return target


# -- the CLI ------------------------------------------------------------------------------------------

def test_the_reference_screen_has_survivors_and_failures_all_journalled(uninterrupted):
    report = json.loads((uninterrupted / "survival.json").read_text())
    statuses = {r["temperature_K"]: set() for r in report["replicas"]}
    for replica in report["replicas"]:
        statuses[replica["temperature_K"]].add(replica["status"])
    # both kinds of result go through the journal (else the comparisons below prove less)
    assert statuses == {600.0: {ReplicaStatus.SURVIVED}, 2500.0: {ReplicaStatus.FAILED}}, report["replicas"]
    assert all(r["failure_step"] > 0 for r in report["replicas"] if r["status"] == ReplicaStatus.FAILED)
    journal = read_journal(uninterrupted / JOURNAL_FILE)
    assert journal.finished and not journal.torn
    assert sorted(journal_indices(uninterrupted / JOURNAL_FILE)) == list(range(6))
    assert [r.to_dict() for r in journal.results] == report["replicas"]


def test_resume_after_a_torn_journal_reports_as_the_uninterrupted_screen(uninterrupted, tmp_path):
    killed = copy_run(uninterrupted, tmp_path / "killed")
    for name in ("survival.json", "survival.png"):  # killed before its report
        (killed / name).unlink()
    kept = tear(killed / JOURNAL_FILE, keep=2)
    config = write_config(tmp_path / "survive.yaml", killed)

    refused = run_cli("survive", str(config))
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "unfinished survival screen (2 of 6 replicas journalled)" in refused.stderr
    assert "--resume" in refused.stderr and "--overwrite" in refused.stderr

    # where and how it runs may change on resume: workers is not part of the screen
    resumed = run_cli("survive", str(write_config(tmp_path / "survive.yaml", killed, workers=1)), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    reference = json.loads((uninterrupted / "survival.json").read_text())
    ours = json.loads((killed / "survival.json").read_text())
    assert outcomes(ours) == outcomes(reference)
    for key in ("survival_fraction", "survived", "total", "failure_modes", "times_to_failure_ps", "limits",
                "settings", "seed"):
        assert ours[key] == reference[key], key
    summary = json.loads((killed / "run_summary.json").read_text())
    assert summary["status"] == "finished" and summary["results"]["replicas_from_journal"] == 2
    indices = journal_indices(killed / JOURNAL_FILE)
    assert indices[:2] == kept and sorted(indices) == list(range(6))  # the torn line cut off, none twice
    assert read_journal(killed / JOURNAL_FILE).finished


def test_resume_run_dir_alone_reads_the_config_from_the_journal(uninterrupted, tmp_path):
    killed = copy_run(uninterrupted, tmp_path / "killed")
    lines = (killed / JOURNAL_FILE).read_text().splitlines(keepends=True)
    (killed / JOURNAL_FILE).write_text("".join(lines[:-1]))  # every replica in, killed before the last line
    done = run_cli("survive", "--resume", str(killed))
    assert done.returncode == 0, done.stderr
    ours = json.loads((killed / "survival.json").read_text())
    assert outcomes(ours) == outcomes(json.loads((uninterrupted / "survival.json").read_text()))
    assert json.loads((killed / "run_summary.json").read_text())["results"]["replicas_from_journal"] == 6


def test_resume_with_a_changed_config_is_refused_in_one_line(uninterrupted, tmp_path):
    killed = copy_run(uninterrupted, tmp_path / "killed")
    before = (killed / JOURNAL_FILE).read_bytes()
    config = write_config(tmp_path / "survive.yaml", killed, duration_ps=0.6)
    refused = run_cli("survive", str(config), "--resume")
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "first difference: 'config.survival.duration_ps'" in refused.stderr and "--overwrite" in refused.stderr
    assert (killed / JOURNAL_FILE).read_bytes() == before
    both = run_cli("survive", str(config), "--resume", "--overwrite")
    assert both.returncode == 2 and "give --resume or --overwrite, not both" in both.stderr
    nothing = run_cli("survive", "--resume", str(tmp_path))
    assert nothing.returncode == 2 and f"{tmp_path}: not a simkit survive run directory" in nothing.stderr


@pytest.mark.mpi
def test_resume_under_mpirun_journals_the_replicas_of_every_rank(uninterrupted, tmp_path):
    killed = copy_run(uninterrupted, tmp_path / "killed")
    for name in ("survival.json", "survival.png"):
        (killed / name).unlink()
    tear(killed / JOURNAL_FILE, keep=1)
    resumed = run_cli("survive", str(write_config(tmp_path / "survive.yaml", killed)), "--resume", np_ranks=2)
    assert resumed.returncode == 0, resumed.stderr
    ours = json.loads((killed / "survival.json").read_text())
    # one rank per replica gives the results worker processes gave: the same serial LAMMPS, the same seeds
    assert outcomes(ours) == outcomes(json.loads((uninterrupted / "survival.json").read_text()))
    assert ours["parallel"] == {"mode": "mpi", "ranks": 2}
    assert sorted(journal_indices(killed / JOURNAL_FILE)) == list(range(6))  # rank 1's replicas too


# -- the journal ----------------------------------------------------------------------------------------

def _config(folder: Path, **changes) -> SurviveConfig:
    return load_config(SurviveConfig, write_config(folder / "survive.yaml", folder / "out", **changes))


def _result(index: int, status: str = ReplicaStatus.SURVIVED, mode: str | None = None) -> ReplicaResult:
    return ReplicaResult(index, 600.0, index, 0, 1000 + index, 108, status=status, mode=mode,
                         steps_completed=600, simulated_ps=0.6, max_force_eV_per_A=1.25)


def test_journal_keeps_final_results_and_drops_a_torn_line(tmp_path):
    config = _config(tmp_path)
    potential = config.potential.build()
    out = Path(config.output_dir)
    out.mkdir()
    assert open_journal(out, config, potential, resume=False, overwrite=False, source="x.yaml") == []
    journal = ReplicaJournal(out)
    for result in (_result(0), _result(1, ReplicaStatus.FAILED, FailureMode.LARGE_FORCE),
                   _result(2, ReplicaStatus.CANCELLED), _result(3, ReplicaStatus.FAILED, FailureMode.WORKER_CRASH),
                   _result(4, ReplicaStatus.ERROR)):
        journal.record(result)
    # cancelled, crashed and unstartable replicas are decided again by a resume
    assert [r.index for r in read_journal(out / JOURNAL_FILE).results] == [0, 1]
    with open(out / JOURNAL_FILE, "a") as handle:
        handle.write('{"record": "replica", "result": {"index": 5, "tempera')
    contents = read_journal(out / JOURNAL_FILE)
    assert contents.torn and [r.to_dict() for r in contents.results] == [_result(0).to_dict(),
                                                                         _result(1, "failed", "large_force").to_dict()]

    with pytest.raises(ConfigError, match=r"unfinished survival screen \(2 of 6 replicas journalled\).*--resume.*"
                                          r"--overwrite"):
        open_journal(out, config, potential, resume=False, overwrite=False, source="x.yaml")
    kept = open_journal(out, config, potential, resume=True, overwrite=False, source="x.yaml")
    assert [r.index for r in kept] == [0, 1]
    journal.record(_result(5))  # appended after the cut, not onto the torn half line
    contents = read_journal(out / JOURNAL_FILE)
    assert not contents.torn and [r.index for r in contents.results] == [0, 1, 5]

    journal.mark_finished()  # a finished screen may be started again without --overwrite
    assert open_journal(out, config, potential, resume=False, overwrite=False, source="x.yaml") == []
    assert read_journal(out / JOURNAL_FILE).results == []


def test_journal_refuses_another_screen_and_a_damaged_line(tmp_path):
    eam = tmp_path / "Cu.eam.alloy"
    shutil.copy(lammps_potentials_dir() / "Cu_zhou.eam.alloy", eam)
    config = _config(tmp_path, potential=eam)
    original = eam.read_bytes()
    out = Path(config.output_dir)
    out.mkdir()
    open_journal(out, config, config.potential.build(), resume=False, overwrite=False, source="x.yaml")
    ReplicaJournal(out).record(_result(0))

    other = _config(tmp_path, potential=eam, replicas=4)
    with pytest.raises(ConfigError, match=r"x.yaml: cannot resume .*first difference: 'config.survival.replicas'"):
        open_journal(out, other, other.potential.build(), resume=True, overwrite=False, source="x.yaml")
    # the same file name with other content (a refitted potential) is another screen too
    eam.write_bytes(b"refitted " + original)  # the first line of a setfl file is a comment
    with pytest.raises(ConfigError, match=re.escape(f"first difference: 'input_sha256.{eam}'")):
        open_journal(out, config, config.potential.build(), resume=True, overwrite=False, source="x.yaml")
    # workers, output_dir and replica_logs are how it runs, not what it finds
    same = _config(tmp_path, potential=eam, workers=1)
    same.replica_logs = False
    eam.write_bytes(original)
    assert len(open_journal(out, same, same.potential.build(), resume=True, overwrite=False, source="x.yaml")) == 1

    lines = (out / JOURNAL_FILE).read_text().splitlines(keepends=True)
    (out / JOURNAL_FILE).write_text(lines[0] + "garbage\n" + "".join(lines[1:]))
    with pytest.raises(InputDataError, match=r"line 2 is damaged"):
        read_journal(out / JOURNAL_FILE)


# -- the library ---------------------------------------------------------------------------------------

def test_journalled_failures_count_towards_the_early_stop():
    # 5 of 6 must survive: the second failure ends the screen. In one process the run is sequential
    # (hottest first), so the uninterrupted screen is reproducible to the replica.
    whole = run_survival(si_snap(), EARLY_STOP, structures=[si_cell()], workers=0, min_survival_fraction=0.75,
                         seed=3)
    first, second = [r for r in whole.replicas if r.status == ReplicaStatus.FAILED]

    ended: list[ReplicaResult] = []
    after_one = run_survival(si_snap(), EARLY_STOP, structures=[si_cell()], workers=0, min_survival_fraction=0.75,
                             seed=3, done=[first], on_result=ended.append)
    assert [r.status for r in after_one.replicas] == [r.status for r in whole.replicas]
    assert after_one.replicas[second.index].failure_step == second.failure_step
    assert {r.index for r in ended} == set(range(6)) - {first.index}  # the journalled one is not run again

    ended.clear()
    after_two = run_survival(si_snap(), EARLY_STOP, structures=[si_cell()], workers=0, min_survival_fraction=0.75,
                             seed=3, done=[first, second], on_result=ended.append)
    assert [r.status for r in after_two.replicas] == [r.status for r in whole.replicas]
    assert all(r.steps_completed == 0 for r in after_two.replicas if r.status == ReplicaStatus.CANCELLED)
    assert after_two.early_stopped and after_two.passed is False and len(ended) == 4

    stranger = ReplicaResult(**{**first.to_dict(), "seed": first.seed + 1})
    with pytest.raises(ConfigError, match="belongs to another screen"):
        run_survival(si_snap(), EARLY_STOP, structures=[si_cell()], workers=0, seed=3, done=[stranger])


# -- kill anywhere ----------------------------------------------------------------------------------------

KILLS = 20
# 256 Cu atoms on two worker processes: 4 hot replicas that fail within a fraction of a second, then 4 cold
# ones of 1400 steps that survive; ~12 s for the whole screen on the 2-core machine this was tuned on.
KILL_RUN = {"workers": 2, "replicas": 4, "duration_ps": 1.3, "atoms": 256, "max_force": 4.0}
# Kill times as fractions of the uninterrupted screen's wall time: kills land in start-up, while hot
# replicas are journalled, and inside cold replicas.
KILL_WINDOW = (0.12, 0.45)
MAX_SCREENS = 4


def check_resumed_screen(killed: Path, reference: dict) -> None:
    total = 2 * KILL_RUN["replicas"]
    indices = journal_indices(killed / JOURNAL_FILE)
    assert sorted(indices) == list(range(total)), indices  # none lost, none journalled twice
    ours = json.loads((killed / "survival.json").read_text())
    assert outcomes(ours) == outcomes(reference)
    assert ours["survival_fraction"] == reference["survival_fraction"]
    assert ours["failure_modes"] == reference["failure_modes"]
    summary = json.loads((killed / "run_summary.json").read_text())
    assert summary["status"] == "finished" and read_journal(killed / JOURNAL_FILE).finished


@pytest.mark.slow
def test_survive_killed_anywhere_resumes_to_the_uninterrupted_result(tmp_path):
    started = time.monotonic()
    done = run_cli("survive", str(write_config(tmp_path / "reference.yaml", tmp_path / "reference", **KILL_RUN)))
    assert done.returncode == 0, done.stderr
    window_s = tuple(fraction * (time.monotonic() - started) for fraction in KILL_WINDOW)
    reference = json.loads((tmp_path / "reference" / "survival.json").read_text())
    assert 0 < reference["survived"] < reference["total"]  # survivors and failures both go through the kills

    simkit = str(BIN / "simkit")
    kills: list[float] = []
    # A screen that ends on its own before its last kill (the machine got faster than during the reference)
    # is checked like the others, and the remaining kills go to a new one.
    for screen in range(MAX_SCREENS):
        killed = tmp_path / f"killed-{screen}"
        config = write_config(tmp_path / f"killed-{screen}.yaml", killed, **KILL_RUN)
        record = kill_anywhere([simkit, "survive", str(config)], [simkit, "survive", str(config), "--resume"],
                               lambda killed=killed: (killed / JOURNAL_FILE).is_file(), kills=KILLS - len(kills),
                               seed=2026 + screen, delay_s=window_s)
        kills += record.kills
        check_resumed_screen(killed, reference)
        if len(kills) >= KILLS:
            break
    assert len(kills) >= KILLS, kills
