"""Bad command-line values (flags, run directories, --set overrides) end in one line naming the flag or path.

Flags are input like a config's keys: each case here runs the command in this
process on otherwise valid inputs (a small trajectory, dataset or .yace), with
one bad value.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ace import helpers
from tests.fuzz import dataset_corpus, trajectory_corpus
from tests.fuzz.harness import check, run_in_process

EVALUATE = ["evaluate", "--potential", "lammps:Si_Zuo_JPCA2020.snapcoeff", "--data", "{data}", "--no-plot"]

# (id, argv with {traj}/{data}/{yace}/{dir} placeholders, what the line must name); marks optional
CASES = [
    ("evaluate:alpha-above-1", [*EVALUATE, "--alpha", "2"], ["--alpha"]),
    ("evaluate:alpha-nan", [*EVALUATE, "--alpha", "nan"], ["--alpha"]),
    ("evaluate:min-distance-negative", [*EVALUATE, "--min-distance", "-1"], ["--min-distance"]),
    ("evaluate:min-distance-nan", [*EVALUATE, "--min-distance", "nan"], ["--min-distance"]),
    ("evaluate:zbl-reversed", [*EVALUATE, "--zbl", "3", "1"], ["--zbl"]),
    ("evaluate:zbl-nan", [*EVALUATE, "--zbl", "nan", "1"], ["--zbl"]),
    ("evaluate:data-missing", [*EVALUATE[:4], "{dir}/missing.extxyz", "--no-plot"], ["missing.extxyz"]),
    ("evaluate:data-is-a-folder", [*EVALUATE[:4], "{dir}", "--no-plot"], ["{dir}"]),
    ("evaluate:potential-unknown-suffix", ["evaluate", "--potential", "{data}", "--data", "{data}"], ["--potential"]),
    ("evaluate:param-missing", [*EVALUATE, "--param", "{dir}/missing.snapparam"], ["--param"]),
    ("evaluate:alpha-not-a-number", [*EVALUATE, "--alpha", "abc"], ["--alpha"]),
    ("export:frames-garbage", ["export", "{traj}", "--frames", "a:b", "-o", "{dir}/o.extxyz"], ["--frames"]),
    ("export:frames-none-selected", ["export", "{traj}", "--frames", "5000:5000", "-o", "{dir}/o.extxyz"],
     ["--frames"]),
    ("export:format-unknown", ["export", "{traj}", "--format", "pdb", "-o", "{dir}/o.pdb"], ["pdb"]),
    ("export:trajectory-missing", ["export", "{dir}/missing.h5md", "-o", "{dir}/o.extxyz"], ["missing.h5md"]),
    ("export:output-is-a-folder", ["export", "{traj}", "-o", "{dir}"], ["{dir}"]),
    ("analyse:trajectory-missing", ["analyse", "{dir}/missing.h5md", "rdf"], ["missing.h5md"]),
    ("analyse:trajectory-is-a-folder", ["analyse", "{dir}", "rdf"], ["{dir}"]),
    ("analyse:rdf-r-max-nan", ["analyse", "{traj}", "rdf", "--r-max-A", "nan"], ["r_max_A"]),
    ("analyse:rdf-bin-width-0", ["analyse", "{traj}", "rdf", "--bin-width-A", "0"], ["bin_width_A"]),
    ("analyse:rdf-r-max-huge", ["analyse", "{traj}", "rdf", "--r-max-A", "1e300"], ["r_max_A"]),
    ("analyse:rdf-stride-0", ["analyse", "{traj}", "rdf", "--stride", "0"], ["stride"]),
    ("analyse:rdf-window-past-the-end", ["analyse", "{traj}", "rdf", "--start-ps", "100"], ["traj.h5md", "no frames"]),
    ("analyse:angles-cutoff-negative", ["analyse", "{traj}", "angles", "--cutoff-A", "-3"], ["cutoff_A"]),
    ("analyse:coordination-cutoff-not-a-number", ["analyse", "{traj}", "coordination", "--pair-cutoffs-A",
                                                  "Cu-Cu=abc"], ["pair_cutoffs_A"]),
    ("analyse:coordination-pair-not-elements", ["analyse", "{traj}", "coordination", "--pair-cutoffs-A", "Xx-Cu=3"],
     ["pair_cutoffs_A", "Xx"]),
    ("analyse:coordination-pairs-garbled", ["analyse", "{traj}", "coordination", "--pair-cutoffs-A", "garbage"],
     ["--pair-cutoffs-A"]),
    ("analyse:msd-memory-negative", ["analyse", "{traj}", "msd", "--memory-MiB", "-1"], ["memory_MiB"]),
    # A cutoff past what one frame's search can hold is refused before the search (it used to fill the memory).
    ("analyse:angles-cutoff-huge", ["analyse", "{traj}", "angles", "--cutoff-A", "1e6"],
     ["traj.h5md", "frame 0", "cutoff_A", "memory_MiB"]),
    ("analyse:angles-cutoff-large", ["analyse", "{traj}", "angles", "--cutoff-A", "60"],
     ["traj.h5md", "frame 0", "angle triplets"]),
    ("analyse:coordination-cutoff-huge", ["analyse", "{traj}", "coordination", "--cutoff-A", "1e300"],
     ["traj.h5md", "frame 0", "cutoff_A"]),
    ("analyse:coordination-pair-cutoff-huge", ["analyse", "{traj}", "coordination", "--pair-cutoffs-A",
                                               "Cu-Cu=5000"], ["traj.h5md", "frame 0", "pair_cutoffs_A"]),
    ("analyse:angles-memory-negative", ["analyse", "{traj}", "angles", "--memory-MiB", "-1"], ["memory_MiB"]),
    ("analyse:profiles-axis-5", ["analyse", "{traj}", "profiles", "--axis", "5"], ["axis"]),
    ("analyse:crystallinity-lattice-garbled", ["analyse", "{traj}", "crystallinity", "--reference-lattice", "xyz"],
     ["reference_lattice"]),
    ("analyse:crystallinity-reference-missing", ["analyse", "{traj}", "crystallinity", "--reference-file",
                                                 "{dir}/missing.cif"], ["reference_file", "missing.cif"]),
    ("analyse:crystallinity-reference-garbage", ["analyse", "{traj}", "crystallinity", "--reference-file",
                                                 "{dir}/garbage.xyz"], ["garbage.xyz"]),
    ("fit:set-deeply-nested", ["fit", "{dir}/x.yaml", "--set", "snap.twojmax=" + "[" * 5000], ["--set snap.twojmax"]),
    ("fit:set-without-key", ["fit", "{dir}/x.yaml", "--set", "=5"], ["--set"]),
    ("fit:cores-negative", ["fit", "{dir}/x.yaml", "--cores", "-3"], ["--cores", "at least 1"]),
    ("optimise:candidates-0", ["optimise", "{dir}/x.yaml", "--candidates", "0"], ["--candidates"]),
    ("optimise:resume-not-a-run", ["optimise", "--resume", "{dir}"], ["{dir}"]),
    ("md:resume-not-a-run", ["md", "--resume", "{dir}"], ["{dir}"]),
    ("survive:resume-not-a-run", ["survive", "--resume", "{dir}"], ["{dir}"]),
    ("survive:no-config", ["survive"], ["config"]),
    ("diffusion:resume-not-a-run", ["diffusion", "--resume", "{dir}"], ["{dir}"]),
    ("diffusion:analyse-only-not-a-run", ["diffusion", "--analyse-only", "{dir}"], ["{dir}"]),
    ("diffusion:resume-and-analyse-only", ["diffusion", "--resume", "{dir}", "--analyse-only", "{dir}"],
     ["--resume", "--analyse-only"]),
    ("demo:config-missing", ["demo", "{dir}/missing.yaml"], ["missing.yaml"]),
    ("ace:model-missing", ["ace", "check", "{dir}/missing.yace"], ["missing.yace"]),
    ("ace:tolerance-nan", ["ace", "check", "{yace}", "--tol-energy", "nan"], ["--tol-energy"]),
    ("ace:tolerance-negative", ["ace", "check", "{yace}", "--tol-force", "-1e-7"], ["--tol-force"]),
    ("ace:structure-garbage", ["ace", "check", "{yace}", "--structure", "{dir}/garbage.xyz"], ["garbage.xyz"]),
    ("ace:structure-missing", ["ace", "check", "{yace}", "--structure", "{dir}/missing.xyz"], ["missing.xyz"]),
    ("ace:activeset-model-garbage", ["ace", "activeset", "{dir}/garbage.xyz", "--structures", "{data}"],
     ["garbage.xyz"]),
    ("ace:activeset-model-is-yace", ["ace", "activeset", "{yace}", "--structures", "{data}"], ["model.yace"]),
    ("ace:activeset-structures-garbage", ["ace", "activeset", "{bbasis}", "--structures", "{dir}/garbage.xyz"],
     ["garbage.xyz"]),
    ("ace:activeset-tolerance-nan", ["ace", "activeset", "{bbasis}", "--structures", "{data}", "--tolerance",
                                     "nan"], ["--tolerance"]),
    ("ace:activeset-asi-garbage", ["ace", "activeset", "{bbasis}", "--from-asi", "{dir}/garbage.xyz"],
     ["garbage.xyz"]),
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("fuzz-flags")
    (folder / "data.extxyz").write_text(dataset_corpus.valid_dataset())
    (folder / "garbage.xyz").write_bytes(b"\x00\x01garbage\n")
    return {
        "dir": folder,
        "data": folder / "data.extxyz",
        "traj": trajectory_corpus.write_valid(folder / "traj.h5md"),
        "yace": helpers.random_model(folder / "model.yace", ("Si",), 20, [6, 3, 2], [0, 2, 1], seed=7,
                                     bbasis_path=folder / "model.yaml"),
        "bbasis": folder / "model.yaml",
    }


@pytest.mark.parametrize(
    "argv, names",
    [pytest.param(argv, names, id=case_id, marks=marks[0] if marks else ()) for case_id, argv, names, *marks in CASES],
)
def test_bad_flag_is_refused_in_one_line(argv, names, inputs, tmp_path):
    fill = {key: str(value) for key, value in inputs.items()}
    argv = [a.format(**fill) if "{" in a and "[" not in a else a for a in argv]
    names = [n.format(**fill) for n in names]
    ended = run_in_process([*argv, *(["-o", str(tmp_path / "out")] if argv[0] == "evaluate" else [])])
    check(f"flags/{argv[0]}", ended, argv[0], names)
