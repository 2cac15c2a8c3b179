"""SNAP fits from teacher-labelled data: accuracy, deployed files, reference overlay, splits, overrides."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from simkit.datasets.reader import voigt_from_tensor
from simkit.datasets.splits import prepare_data
from simkit.errors import ConfigError
from simkit.fitting.candidate import fit_and_score
from simkit.fitting.registry import make_fitter, with_overrides
from simkit.fitting.snap import descriptor_settings
from simkit.fitting.snap_rows import linear_predictions
from simkit.scoring.evaluate import predict
from tests.fitting.conftest import fit_config

# The Si teacher's own hyperparameters (Si_Zuo_JPCA2020.snapparam).
TEACHER_SNAP = {"twojmax": 8, "rcutfac": 4.9, "rfac0": 0.99363, "bzeroflag": False}


@pytest.mark.parametrize(
    "snap",
    [
        {"twojmax": 6, "rcutfac": 4.7},
        {"twojmax": 4, "rcutfac": 4.7, "quadratic": True, "solver": {"kind": "ridge", "alpha": 1e-3}},
    ],
    ids=["linear", "quadratic"],
)
def test_snap_validation_errors_far_below_trivial_model(snap, si_teacher_file, si_prepared, tmp_path):
    config = fit_config(si_teacher_file, snap=snap, weights={"virial": 0.1})
    result = fit_and_score(config, tmp_path / "candidate", data=si_prepared)
    overall = result.validation["overall"]
    assert result.n_validation_frames == 8 and result.validation_kind == "holdout"
    # The trivial model (per-element energy, zero forces) is off by ~280 meV/atom and ~1.5 eV/Å.
    baseline = json.loads((tmp_path / "candidate" / "metrics.json").read_text())["baseline"]["overall"]
    assert result.loss < 0.2 * result.baseline_loss == pytest.approx(0.2 * baseline["loss"])
    assert overall["force_vector_rmse_meV_per_A"] < 0.25 * baseline["force_vector_rmse_meV_per_A"]
    assert overall["energy_rmse_meV_per_atom"] < 0.15 * baseline["energy_rmse_meV_per_atom"]
    assert set(result.validation["config_types"]) == {"rattled", "strained", "liquid"}
    written = json.loads((tmp_path / "candidate" / "candidate.json").read_text())
    assert written["loss"] == pytest.approx(result.loss)
    assert (tmp_path / "candidate" / "parity.png").stat().st_size > 10_000
    assert result.timings_s["descriptors_s"] > 0 and result.timings_s["score_s"] > 0


@pytest.mark.parametrize(
    "snap",
    [
        {"twojmax": 6, "rcutfac": 4.7, "bzeroflag": True},
        {"twojmax": 4, "rcutfac": 4.5, "quadratic": True, "bzeroflag": False, "wj": {"Si": 0.9}},
        {"twojmax": 4, "rcutfac": 4.7, "inner_switch": {"sinner_A": {"Si": 1.9}, "dinner_A": {"Si": 0.3}}},
    ],
    ids=["linear-bzero", "quadratic", "inner-switch"],
)
def test_deployed_files_reproduce_the_linear_model_exactly(snap, si_teacher_file, si_prepared, tmp_path):
    """Plain pair_style snap on the written files == A @ coefficients on the training frames."""
    config = fit_config(si_teacher_file, snap=snap, weights={"virial": 0.1})
    train = si_prepared.splits[0].train
    fitter = make_fitter("snap")
    fitted = fitter.fit(config, train, tmp_path)
    coefficients = np.concatenate([e.coefficients for e in fitted.build().model.elements])
    rows = fitter.rows(train.frames, descriptor_settings(config), "", None, None)
    lammps = predict(fitted.build(), train)
    linear = [linear_predictions(r, coefficients) for r in rows]
    energies = np.array([e for e, _, _ in linear])
    assert np.abs(energies - lammps.energy_pred_eV).max() < 1e-8 * np.abs(energies).max()
    forces = np.concatenate([f for _, f, _ in linear])
    assert np.abs(forces - lammps.forces_pred_eV_per_A).max() < 1e-8 * max(1.0, np.abs(forces).max())
    virials = np.array([w for _, _, w in linear])
    assert virials == pytest.approx(lammps.virial_pred_eV, rel=1e-6, abs=1e-6)


def test_teacher_hyperparameters_recover_the_teacher(si_teacher_file, si_prepared, tmp_path):
    config = fit_config(si_teacher_file, snap=TEACHER_SNAP)
    result = fit_and_score(config, tmp_path, data=si_prepared)
    overall = result.validation["overall"]
    assert overall["energy_rmse_meV_per_atom"] < 1e-3
    assert overall["force_vector_rmse_meV_per_A"] < 1e-2


@pytest.mark.parametrize(
    "reference",
    [
        {"kind": "zbl", "inner_A": 1.8, "outer_A": 2.6},
        {"kind": "lammps", "pair_style": "zbl 1.8 2.6", "pair_coeff": ["1 1 14 14"], "cutoff_A": 2.6},
    ],
    ids=["zbl", "any-pair-style"],
)
def test_reference_is_subtracted_then_overlaid(reference, si_snap, si_teacher_data, tmp_path):
    """Data from SNAP + ZBL: only a fit that knows the ZBL reference recovers it exactly."""
    from simkit.datasets import write_dataset
    from simkit.datasets.teacher import label
    from simkit.fitting.deployed import read_potential_yaml
    from simkit.lammps.potentials import OverlayPotential, ZblPotential

    relabelled = label(si_teacher_data.structures, OverlayPotential([si_snap, ZblPotential(1.8, 2.6)]), "mixed")
    data_file = write_dataset(relabelled, tmp_path / "with_zbl.extxyz")
    shift = np.abs(np.array([f.energy_eV for f in relabelled]) - np.array([f.energy_eV for f in si_teacher_data]))
    assert shift.max() > 0.1  # ZBL matters for these frames

    with_reference = fit_and_score(fit_config(data_file, snap=TEACHER_SNAP, reference=reference), tmp_path / "ref")
    without = fit_and_score(fit_config(data_file, snap=TEACHER_SNAP), tmp_path / "plain")
    assert with_reference.validation["overall"]["force_vector_rmse_meV_per_A"] < 1e-2
    assert without.validation["overall"]["force_vector_rmse_meV_per_A"] > 1.0
    deployed = read_potential_yaml(tmp_path / "ref" / "potential.yaml")
    assert deployed.pair_style(("Si",)).style == "hybrid/overlay"
    if reference["kind"] == "zbl":
        assert with_reference.potential["zbl"] == {"inner_A": 1.8, "outer_A": 2.6}
    else:
        assert with_reference.potential["reference"]["pair_style"] == "zbl 1.8 2.6"


def test_two_element_chemflag_fit_recovers_its_teacher(inp_teacher_file, tmp_path):
    """InP SNAP (chem, bnorm, wselfall, bzero, per-element radelem and wj) refitted from its own data."""
    config = fit_config(
        inp_teacher_file, elements=["In", "P"],
        snap={"twojmax": 6, "rcutfac": 1.0, "radelem": {"In": 3.81205, "P": 3.82945}, "wj": {"In": 1.0, "P": 0.929316},
              "chemflag": True, "wselfallflag": True, "bzeroflag": True},
    )
    assert config.snap.bnormflag is None and descriptor_settings(config).bnormflag is True
    result = fit_and_score(config, tmp_path)
    assert result.fit_info["n_coefficients_per_element"] == 241  # as in InP_JCPA2020.snapcoeff
    assert result.validation["overall"]["force_vector_rmse_meV_per_A"] < 1e-2
    assert result.validation["overall"]["energy_rmse_meV_per_atom"] < 1e-3
    coeff = Path(result.potential["coeff"]).read_text()
    assert "\nIn 3.81205 1.0\n" in coeff and "\nP 3.82945 0.929316\n" in coeff
    assert "chemflag 1" in Path(result.potential["param"]).read_text()


def test_same_seed_gives_identical_files_and_another_seed_another_split(si_teacher_file, tmp_path):
    first = fit_and_score(fit_config(si_teacher_file), tmp_path / "a")
    again = fit_and_score(fit_config(si_teacher_file), tmp_path / "b")
    assert (tmp_path / "a" / "snap.snapcoeff").read_bytes() == (tmp_path / "b" / "snap.snapcoeff").read_bytes()
    assert first.loss == again.loss
    other = fit_and_score(fit_config(si_teacher_file, seed=6), tmp_path / "c")
    assert other.loss != first.loss


def test_kfold_validates_every_frame_once_and_deploys_a_fit_on_all(si_teacher_file, tmp_path):
    config = fit_config(si_teacher_file, data={"train": str(si_teacher_file), "validation": {"kind": "kfold", "folds": 3}})
    result = fit_and_score(config, tmp_path)
    assert result.n_validation_frames == 34 and result.n_train_frames == 34
    assert sorted(p.name for p in (tmp_path / "folds").iterdir()) == ["fold-1", "fold-2", "fold-3"]
    assert "34 frames" in (tmp_path / "snap.snapcoeff").read_text()  # header of the final fit


def test_dotted_overrides_revalidate(si_teacher_file):
    config = fit_config(si_teacher_file)
    changed = with_overrides(config, {"snap.rcutfac": 4.2, "snap.wj.Si": 0.8, "weights.energy": 3.0})
    assert (changed.snap.rcutfac, changed.snap.wj, changed.weights.energy) == (4.2, {"Si": 0.8}, 3.0)
    assert config.snap.rcutfac == 4.8  # the original is untouched
    with pytest.raises(ConfigError, match="snap.twojmax"):
        with_overrides(config, {"snap.twojmax": -1})
    with pytest.raises(ConfigError, match="snap.wj names element"):
        with_overrides(config, {"snap.wj.Ge": 1.0})
    with pytest.raises(ConfigError, match="unknown key 'snap.cutoff'"):
        with_overrides(config, {"snap.cutoff": 5.0})


def test_rows_follow_weights_per_config_type_and_energy_scaling(si_teacher_file, si_prepared):
    from simkit.fitting.snap_rows import assemble_system

    train = si_prepared.splits[0].train
    config = fit_config(si_teacher_file)
    rows = make_fitter("snap").rows(train.frames, descriptor_settings(config), "", None, None)

    def system(energy_rows="per_atom", **weights):
        return assemble_system(train.frames, rows, fit_config(si_teacher_file, weights=weights).weights, energy_rows)

    plain, with_virial = system(), system(virial=1.0)
    assert with_virial.matrix.shape[0] - plain.matrix.shape[0] == 6 * len(train)
    liquid = [f for f in train if f.config_type == "liquid"]
    no_liquid = system(config_types={"liquid": {"energy": 0.0, "forces": 0.0}})
    assert plain.matrix.shape[0] - no_liquid.matrix.shape[0] == sum(1 + 3 * f.n_atoms for f in liquid)
    heavy = system(config_types={"liquid": {"forces": 3.0}})
    assert sorted(set(heavy.weights)) == [1.0, 3.0]
    # Energy rows are divided by N (default) or sqrt(N) (the thesis's L_E).
    n = train[0].n_atoms
    per_atom, per_sqrt = plain, system("per_sqrt_atom")
    assert per_sqrt.target[0] == pytest.approx(per_atom.target[0] * n / np.sqrt(n))
    # Virial rows (Voigt order) are divided by N.
    assert with_virial.target[with_virial.kind == 2][:6] == pytest.approx(voigt_from_tensor(train[0].virial_eV) / n)


def test_prepared_split_is_stratified_and_seeded(si_teacher_file):
    config = fit_config(si_teacher_file)
    first = prepare_data(config.data, config.elements, seed=5).splits[0]
    again = prepare_data(config.data, config.elements, seed=5).splits[0]
    assert [f.source for f in first.validation] == [f.source for f in again.validation]
    # round(0.25 * n) of each config_type: 12 rattled, 12 strained, 10 liquid frames
    assert dict(sorted(first.validation.config_types().items())) == {"liquid": 2, "rattled": 3, "strained": 3}
    other = prepare_data(config.data, config.elements, seed=6).splits[0]
    assert [f.source for f in other.validation] != [f.source for f in first.validation]


def _fit_in_worker(config, workdir, data):
    return fit_and_score(config, workdir, data=data)


def test_candidates_run_concurrently_in_separate_processes(si_teacher_file, si_prepared, tmp_path):
    """What the optimiser does: picklable inputs, one workdir each, same results as in-process fits."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    base = fit_config(si_teacher_file)
    configs = [with_overrides(base, {"snap.rcutfac": value}) for value in (4.5, 4.8)]
    context = multiprocessing.get_context("spawn")  # no inherited LAMMPS or MPI state
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        futures = [pool.submit(_fit_in_worker, c, tmp_path / f"worker{k}", si_prepared) for k, c in enumerate(configs)]
        concurrent = [f.result() for f in futures]
    serial = [fit_and_score(c, tmp_path / f"serial{k}", data=si_prepared) for k, c in enumerate(configs)]
    assert [r.loss for r in concurrent] == [r.loss for r in serial]
    assert concurrent[0].loss != concurrent[1].loss
    assert (tmp_path / "worker1" / "snap.snapcoeff").read_bytes() == (tmp_path / "serial1" / "snap.snapcoeff").read_bytes()
