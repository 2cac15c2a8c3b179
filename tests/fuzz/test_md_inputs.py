"""``simkit md`` refuses bad files and cross-references its config names, before LAMMPS starts.

The schema checks a config's keys (tests/fuzz/test_configs.py); what the keys
point to is checked when the run is planned: the potential files are read, the
structure is built, regions are matched with stages. Each case here breaks one
of those in an otherwise valid example; it first goes through the same steps
``simkit md`` takes before LAMMPS starts (load, build the potential, build the
plan), and runs the command in this process only when they refuse it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simkit.errors import SimkitError
from tests.ace import helpers
from tests.fuzz import config_corpus as cc
from tests.fuzz import dataset_corpus, potential_corpus
from tests.fuzz.harness import Verdict, check, record, run_in_process

STRUCTURES = "reported, not fixed: simkit/structures/ (not edited here) "


def _files(folder: Path) -> None:
    potential_corpus.write_broken_pair_files(helpers.potentials_dir(), folder)
    text = dataset_corpus.valid_dataset()
    frames = dataset_corpus._frames(text)
    (folder / "garbage.extxyz").write_bytes(b"\x00\xff garbage")
    (folder / "empty.extxyz").write_bytes(b"")
    (folder / "truncated.extxyz").write_bytes(dataset_corpus._join(frames[:2] + [frames[2][:6]]))
    (folder / "nan.extxyz").write_bytes(dataset_corpus._edit(text, 2, dataset_corpus._atom(1, 1, "nan")))
    (folder / "garbled.cif").write_text("data_x\n_cell_length_a abc\n")


QUICK, PCM = "md_quickstart", "md_pcm_cycle"
SNAP = {"kind": "snap", "coeff": "si.snapcoeff", "param": "si.snapparam"}
# (id, example, key path, value, what the line must name); marks optional
CASES = [
    ("snap-files-disagree", QUICK, ("potential",), SNAP, ["si.snapcoeff", "twojmax"]),
    ("eam-truncated", PCM, ("potential",), {"kind": "eam/alloy", "file": "cu.eam.alloy"}, ["cu.eam.alloy"]),
    ("structure-binary", QUICK, ("structure",), {"file": "garbage.extxyz"}, ["garbage.extxyz"]),
    ("structure-empty", QUICK, ("structure",), {"file": "empty.extxyz"}, ["empty.extxyz"]),
    ("structure-garbled-cif", QUICK, ("structure",), {"file": "garbled.cif"}, ["garbled.cif"]),
    ("device-crystal-binary", PCM, ("device", "crystal"), {"file": "garbage.extxyz"}, ["garbage.extxyz"]),
    ("region-unknown", PCM, ("stages", 2, "region"), "nosuch", ["'stages[2].region'"]),
    ("region-frozen", PCM, ("stages", 2, "region"), "frozen", ["'stages[2].region'", "frozen"]),
    ("profile-bin-longer-than-box", PCM, ("profiles", "bin_nm"), 100.0, ["'profiles.bin_nm'"]),
    ("structure-truncated-last-frame", QUICK, ("structure",), {"file": "truncated.extxyz"}, ["truncated.extxyz"]),
    ("structure-nan-position", QUICK, ("structure",), {"file": "nan.extxyz"}, ["nan.extxyz"]),
    ("bulk-not-an-element", QUICK, ("structure", "bulk", "element"), "Xx", ["'structure.bulk.element'"]),
]


def _plan(config: Path) -> None:
    from simkit.config import load_config
    from simkit.drivers.md.plan import build_plan
    from simkit.drivers.md.protocol import MdProtocol

    protocol = load_config(MdProtocol, config)
    build_plan(protocol, protocol.potential.build(), source=str(config))


@pytest.mark.parametrize(
    "example, path, value, names",
    [pytest.param(e, p, v, n, id=i, marks=m[0] if m else ()) for i, e, p, v, n, *m in CASES],
)
def test_md_refuses_what_its_config_points_to(example, path, value, names, tmp_path):
    _files(tmp_path)
    config = tmp_path / "config.yaml"
    config.write_bytes(cc.dump(cc._set(cc.example_data(cc.INPUTS / f"{example}.yaml"), path, value)))
    try:
        _plan(config)
    except SimkitError:
        pass
    except Exception:
        record("md-inputs", Verdict("traceback"))
        raise
    else:  # never run it: the planned MD would start
        record("md-inputs", Verdict("accepted by the plan"))
        pytest.fail("the plan accepted it")
    check("md-inputs", run_in_process(["md", config]), "md", names)
