"""The optimise config and its search space are checked against the fit config before anything runs."""

from __future__ import annotations

import pytest

from simkit.errors import ConfigError
from simkit.optimise.runner import load_optimise_config
from tests.optimise.conftest import base_config, speed_section, write_config


def _load(tmp_path, data_file, **sections):
    document = base_config(data_file, tmp_path / "run", **sections)
    return load_optimise_config(write_config(tmp_path / "opt.yaml", document))


@pytest.fixture
def data_file(tmp_path):
    # Only its existence matters here: nothing is fitted.
    path = tmp_path / "data.extxyz"
    path.write_text("")
    return path


def test_dimensions_of_every_kind_load(tmp_path, data_file):
    config = _load(tmp_path, data_file, search_space={
        "snap.rcutfac": {"real": [3.5, 5.5]},
        "weights.energy": {"real": [0.1, 10], "prior": "log-uniform"},
        "snap.twojmax": {"categorical": [4, 6, 8]},
        "snap.wj.Si": {"real": [0.5, 1.0]},
        "snap.quadratic": {"categorical": [False, True]},
        "snap.solver.alpha": {"real": [1e-9, 1e-3], "prior": "log-uniform"},
        "reference.inner_A": {"real": [1.0, 1.5]},
    }, fit={"reference": {"kind": "zbl", "inner_A": 1.2, "outer_A": 2.0}},
        optimiser={"acquisition": "EI"})
    assert config.optimiser.acquisition.kind == "EI" and config.optimiser.acquisition.xi == 0.01
    assert config.search_space["snap.twojmax"].kind == "categorical"
    assert config.fit.backend == "snap" and config.alpha == 0.5


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"snap.rcutfax": {"real": [3.5, 5.5]}},
         r"key 'search_space.snap.rcutfax' = 3.5 .*unknown key 'snap.rcutfax'"),
        ({"snap.twojmax": {"real": [2, 8]}}, r"'search_space.snap.twojmax' = 4.262.*integer setting: use 'integer"),
        ({"weights.energy": {"real": [-1.0, 1.0]}},
         r"'search_space.weights.energy' = -1.0 .*greater than or equal to 0"),
        ({"snap.wj.Ge": {"real": [0.5, 1.0]}}, r"'search_space.snap.wj.Ge'.*not in elements \['Si'\]"),
        ({"snap.energy_rows": {"categorical": ["per_atom", "per_frame"]}},
         r"'search_space.snap.energy_rows' = 'per_frame'"),
        ({"data.validation.fraction": {"real": [0.1, 0.3]}}, r"'search_space.data.validation.fraction': 'data' "
                                                             r"defines the problem"),
        ({"snap.twojmax": {"categorical": [4]}}, r"at least two values"),
        ({"snap.rcutfac": {"real": [5.0, 4.0]}}, r"needs low < high"),
        ({"snap.rcutfac": {"real": [0.0, 4.0], "prior": "log-uniform"}}, r"log-uniform range needs low > 0"),
        ({"snap.rcutfac": {"real": [3, 4], "integer": [3, 4]}}, r"exactly one of real, integer or categorical"),
        ({"snap": {"real": [3, 4]}}, r"key 'search_space.snap' = 3.0"),
    ],
    ids=["unknown-key", "real-on-integer", "rejected-value", "unknown-element", "bad-category", "fixed-root",
         "one-category", "reversed", "log-zero", "two-kinds", "section"],
)
def test_bad_search_spaces_are_refused_naming_the_key(tmp_path, data_file, space, message):
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, data_file, search_space=space)


def test_dimensions_that_conflict_jointly_are_refused(tmp_path, data_file):
    with pytest.raises(ConfigError, match=r"key 'search_space': the dimensions together .*smaller than outer_A"):
        _load(tmp_path, data_file, fit={"reference": {"kind": "zbl", "inner_A": 1.0, "outer_A": 2.6}},
              search_space={"reference.inner_A": {"real": [1.9, 2.0]}, "reference.outer_A": {"real": [1.5, 2.5]}})


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"objective": {"cost_weight": 1.0}}, "add a 'speed' section"),
        ({"objective": {"constraints": {"min_survival_fraction": 1.0}}}, "add a 'survival' section"),
        ({"objective": {"constraints": {"min_relative_speed": 0.5}}, "speed": speed_section()},
         "needs speed.reference"),
        ({"final_upfit": {"stages": [{"kappa": 0.02}]}}, "final_upfit applies to ACE only"),
        ({"objective": {"loss_weight": 0.0}}, "nothing to optimise"),
        ({"budget": {"candidates": 0}}, r"key 'budget.candidates' = 0"),
        ({"optimiser": {"acquisition": {"kind": "UCB"}}}, r"optimiser.acquisition"),
        ({"fit": {"snap": {"twojmax": "six"}}}, r"key 'fit.snap.twojmax' = 'six'"),
        ({"surprise": 1}, r"unknown key 'surprise'"),
    ],
    ids=["cost-without-speed", "survival-constraint", "relative-without-reference", "upfit-snap", "no-weights",
         "budget", "acquisition", "fit-key", "unknown-key"],
)
def test_inconsistent_configs_are_refused(tmp_path, data_file, sections, message):
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, data_file, **sections)


def test_example_configs_pass_the_full_check():
    from pathlib import Path

    inputs = Path(__file__).resolve().parents[2] / "inputs"
    examples = sorted(inputs.glob("optimise_*.yaml"))
    assert {p.name for p in examples} >= {"optimise_snap_si.yaml", "optimise_ace_si.yaml"}
    for path in examples:
        config = load_optimise_config(path)
        assert config.budget.candidates >= config.optimiser.initial_points
