"""The constructed case: a student fitted only on crystal, run in the liquid.

The Si ACE of tests/ace/conftest.py ("si_sbessel") is fitted by pacemaker on
strained and rattled diamond cells only. Heated far above melting, its
extrapolation grade must cross the threshold before (earlier in simulated time
than) any of the survival screen's physical failure checks fires on the same
replicas, or while none fires at all.
"""

from __future__ import annotations

import numpy as np
import pytest

from simkit.ace import activeset
from simkit.lammps.potentials.ace import AcePotential
from simkit.screening.settings import SurvivalSettings
from simkit.screening.survival import run_survival
from tests.ace import helpers

pytestmark = pytest.mark.slow

MAX_GAMMA = 5.0


def test_gamma_warns_before_a_crystal_only_student_fails_in_the_liquid(fitted_models, tmp_path):
    model = fitted_models["si_sbessel"]
    bbasis = activeset.load_bbasis(model.path.parent / "output_potential.yaml")
    # the fit's own training cells (conftest draws them first from this seed)
    training = helpers.training_structures(model.elements, 24, np.random.default_rng(2024))
    chosen = activeset.select_active_set(activeset.projections(bbasis, training), bbasis.elements_name)
    plugin_file = activeset.write_plugin_file(tmp_path / "si.activeset", bbasis, chosen)
    potential = AcePotential(model.path, activeset=plugin_file)

    def screen(thresholds):
        settings = SurvivalSettings(temperatures_K=[4000], replicas=2, duration_ps=4.0, nve_duration_ps=0,
                                    timestep_fs=1.0, target_atoms=64, check_every_steps=10,
                                    thresholds=thresholds)
        return run_survival(potential, settings, structures=[helpers.base_cell(model.elements)], workers=0,
                            structure_dir=tmp_path / "extrapolation")

    plain = screen({})
    watched = screen({"max_gamma": MAX_GAMMA})
    for before, after in zip(plain.replicas, watched.replicas):
        print(f"replica {before.replica}: without the grade {before.status} {before.mode} at {before.failure_time_ps} ps;"
              f" with max_gamma {MAX_GAMMA}: {after.mode} at {after.failure_time_ps} ps (max gamma {after.max_gamma:.2f})")
        assert after.mode == "extrapolation", after.message
        physical = before.failure_time_ps if before.failed else np.inf
        assert after.failure_time_ps < physical
        assert after.extrapolation_structure is not None
