"""ACE through pacemaker: one small fit with an upfit stage, scored through LAMMPS (pair_style pace)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml

from simkit.errors import RunFailed
from simkit.fitting import pacemaker
from simkit.fitting.ace import pacemaker_input
from simkit.fitting.candidate import fit_and_score
from tests.fitting.conftest import fit_config

ACE = {
    "functions_per_element": 30,
    "nradmax_by_orders": [8, 4, 3],
    "lmax_by_orders": [0, 3, 2],
    "rcut_A": 5.0,
    "kappa": 0.3,
    "max_iterations": 60,
    "upfit": [{"kappa": 0.05, "max_iterations": 15}],
}


def test_pacemaker_input_carries_every_setting(si_teacher_file):
    config = fit_config(si_teacher_file, backend="ace", ace={**ACE, "fs_parameters": [1, 1, 1, 0.5, 2, 0.25],
                                                              "ndensity": 3, "optimizer": "L-BFGS-B"})
    document = pacemaker_input(config, kappa=0.02, max_iterations=7)
    potential = document["potential"]
    assert potential["elements"] == ["Si"]
    assert potential["embeddings"]["ALL"] == {
        "npot": "FinnisSinclairShiftedScaled", "fs_parameters": [1.0, 1.0, 1.0, 0.5, 2.0, 0.25], "ndensity": 3,
    }
    assert potential["bonds"]["ALL"] == {"radbase": "SBessel", "radparameters": [5.25], "rcut": 5.0, "dcut": 0.01}
    assert potential["functions"]["number_of_functions_per_element"] == 30
    assert document["fit"] == {"loss": {"kappa": 0.02, "L1_coeffs": 1e-8, "L2_coeffs": 1e-8},
                               "optimizer": "L-BFGS-B", "maxiter": 7}
    assert document["seed"] == 5 and document["backend"]["evaluator"] == "tensorpot"
    env = pacemaker.subprocess_env(3)
    assert env["TF_NUM_INTRAOP_THREADS"] == "3" and env["OMP_NUM_THREADS"] == "3"


def test_ace_config_checks_consistency(si_teacher_file):
    from simkit.errors import ConfigError

    with pytest.raises(ConfigError, match="fs_parameters needs 2 \\* ndensity = 2 values"):
        fit_config(si_teacher_file, backend="ace", ace={"ndensity": 1})
    with pytest.raises(ConfigError, match="needs exactly the elements"):
        fit_config(si_teacher_file, backend="ace", ace={"reference_energies_eV": {"Ge": -4.0}})
    # pacemaker cannot fit virials: a weight on them is refused rather than ignored.
    for weights in ({"virial": 0.1}, {"config_types": {"liquid": {"virial": 1.0}}}):
        with pytest.raises(ConfigError, match="weights.virial: ACE fits .pacemaker. have no virial term"):
            fit_config(si_teacher_file, backend="ace", weights=weights)
    fit_config(si_teacher_file, backend="snap", weights={"virial": 0.1})  # SNAP fits them


def test_failed_pacemaker_run_is_reported_with_its_log(tmp_path):
    stage = tmp_path / "stage"
    stage.mkdir()
    pacemaker.write_input(stage / pacemaker.INPUT_FILE, {"cutoff": 5.0, "data": {"filename": "missing.pckl.gzip"}})
    with pytest.raises(RunFailed, match=r"pacemaker failed in .*stage \(exit code [1-9]"):
        pacemaker.run_pacemaker(stage, cores=1)
    assert (stage / pacemaker.LOG_FILE).stat().st_size > 0


@pytest.mark.slow
def test_ace_fit_with_upfit_beats_trivial_model_in_lammps(si_teacher_file, si_prepared, tmp_path):
    config = fit_config(si_teacher_file, backend="ace", ace={**ACE, "activeset": True})
    result = fit_and_score(config, tmp_path, data=si_prepared, cores=2)

    # Scored through LAMMPS (pair_style pace) on frames the fit never saw.
    assert result.loss < 0.2 * result.baseline_loss
    assert result.validation["overall"]["force_vector_rmse_meV_per_A"] < 400.0
    assert result.potential == {"kind": "ace", "yace": str(tmp_path / "ace.yace"),
                                "activeset": str(tmp_path / "ace.activeset")}
    # The active set of the training environments: they grade as interpolation in LAMMPS.
    from tests.ace.gamma_helpers import graded_cells

    train = si_prepared.splits[0].train
    assert max(g.max() for g in graded_cells(result.build_potential(), train.structures[:3], ["Si"])) <= 1.001 + 1e-8
    assert "activeset_s" in result.timings_s and (tmp_path / "ace.asi").is_file()
    # Both stages ran with their own kappa, the upfit starting from the first stage's output.
    stages = tmp_path / "pacemaker"
    first = yaml.safe_load((stages / "fit" / "input.yaml").read_text())
    second = yaml.safe_load((stages / "upfit-1" / "input.yaml").read_text())
    assert (first["fit"]["loss"]["kappa"], second["fit"]["loss"]["kappa"]) == (0.3, 0.05)
    assert second["fit"]["maxiter"] == 15
    assert (stages / "upfit-1" / "output_potential.yaml").is_file()
    assert {"pacemaker_fit_s", "pacemaker_upfit_1_s", "score_s"} <= set(result.timings_s)
    # The .yace carries the reference energy back as E0, so LAMMPS sees total energies.
    e0 = result.fit_info["reference_energies_eV"]["Si"]
    line = re.search(r"^E0: \[(.*)\]$", (tmp_path / "ace.yace").read_text(), re.MULTILINE).group(1)
    assert float(line) == pytest.approx(e0) and -6.0 < e0 < -4.0

    # Cross-check: python-ace's own evaluator agrees with the LAMMPS numbers.
    from pyace import PyACECalculator

    from simkit.scoring.evaluate import predict

    validation = si_prepared.splits[0].validation
    lammps = predict(result.build_potential(), validation)
    calculator = PyACECalculator(str(tmp_path / "ace.yace"))
    energies = []
    for frame in validation:
        atoms = frame.atoms.copy()
        atoms.calc = calculator
        energies.append(atoms.get_potential_energy())
    assert np.array(energies) == pytest.approx(lammps.energy_pred_eV, abs=1e-8)

    # A fit that continues from this one's coefficients for zero iterations is this fit: the warm start is used.
    again = fit_config(si_teacher_file, backend="ace",
                       ace={**ACE, "upfit": [], "max_iterations": 0,
                            "initial_potential": str(tmp_path / "ace_potential.yaml")})
    continued = fit_and_score(again, tmp_path / "continued", data=si_prepared, cores=2)
    assert continued.loss == pytest.approx(result.loss, rel=1e-6)
