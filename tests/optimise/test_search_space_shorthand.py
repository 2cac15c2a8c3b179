"""``weights.config_types.*.<term>``: one searched weight per config_type of the training data."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from simkit.errors import ConfigError
from simkit.fitting.registry import with_overrides
from simkit.optimise.config import Dimension
from simkit.optimise.runner import load_optimise_config
from simkit.optimise.space import SearchSpace, search_space_of
from tests.optimise.conftest import base_config, write_config


def _data(path, config_types):
    rng = np.random.default_rng(2)
    frames = []
    for config_type in config_types:
        atoms = Atoms("Si2", positions=[[0, 0, 0], [1.4, 1.4, 1.4]], cell=[5.4] * 3, pbc=True)
        atoms.calc = SinglePointCalculator(atoms, energy=-10.0 + rng.normal(), forces=rng.normal(0, 1, (2, 3)))
        atoms.info["config_type"] = config_type
        frames.append(atoms)
    write(path, frames, format="extxyz")
    return path


def _load(tmp_path, space, config_types=("AIMD-NVT", "Elastic", "AIMD-NVT", "Surface")):
    data = _data(tmp_path / "data.extxyz", config_types)
    document = base_config(data, tmp_path / "run", search_space=space)
    path = write_config(tmp_path / "opt.yaml", document)
    config = load_optimise_config(path)
    return config, search_space_of(config, str(path))


def test_the_shorthand_expands_in_place_in_data_order_and_explicit_keys_win(tmp_path):
    energy = {"real": [100.0, 15000.0], "prior": "log-uniform"}
    config, space = _load(tmp_path, {
        "snap.rcutfac": {"real": [3.0, 6.0]},
        "weights.config_types.*.energy": energy,
        "weights.config_types.Surface.forces": {"real": [1.0, 2.0]},
        "weights.config_types.*.forces": {"real": [0.1, 500.0]},
    })
    assert space.names == [
        "snap.rcutfac",
        "weights.config_types.AIMD-NVT.energy", "weights.config_types.Elastic.energy",
        "weights.config_types.Surface.energy",
        "weights.config_types.Surface.forces",
        "weights.config_types.AIMD-NVT.forces", "weights.config_types.Elastic.forces",
    ]
    assert space.dimensions["weights.config_types.Elastic.energy"] == Dimension.model_validate(energy)
    assert space.dimensions["weights.config_types.Surface.forces"].real == (1.0, 2.0)
    # The config keeps the shorthand (the run's definition); points decode to one weight per type.
    assert "weights.config_types.*.energy" in config.search_space
    point = [4.5, 200.0, 300.0, 400.0, 1.5, 20.0, 30.0]
    fit = with_overrides(config.fit, space.params(point))
    assert fit.weights.for_config_type("Elastic") == (300.0, 30.0, 0.0)
    assert fit.weights.for_config_type("Surface") == (400.0, 1.5, 0.0)


@pytest.mark.parametrize("name", ["snap.*", "weights.config_types.*.stress", "weights.*.energy",
                                  "weights.config_types.*", "weights.config_types.A*.energy"])
def test_a_misplaced_wildcard_is_refused_naming_the_key(tmp_path, name):
    with pytest.raises(ConfigError, match=r"key 'search_space'.*" + name.replace(".", r"\.").replace("*", r"\*")
                       + r".*'\*' may only stand for the config_type"):
        _load(tmp_path, {name: {"real": [1.0, 2.0]}})


def test_a_config_type_that_cannot_be_a_dotted_name_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"key 'search_space\.weights\.config_types\.\*\.energy': config_type "
                                          r"'bulk\.fcc' of the training data cannot be part of a dotted name"):
        _load(tmp_path, {"weights.config_types.*.energy": {"real": [1.0, 2.0]}}, config_types=("bulk.fcc", "liquid"))


def test_expanded_dimensions_are_checked_against_the_fit_config(tmp_path):
    with pytest.raises(ConfigError, match=r"key 'search_space\.weights\.config_types\.AIMD-NVT\.forces' = -1\.0 is "
                                          r"not accepted.*greater than or equal to 0"):
        _load(tmp_path, {"weights.config_types.*.forces": {"real": [-1.0, 1.0]}})


def test_frames_without_a_config_type_are_the_default_type(tmp_path):
    data = tmp_path / "plain.extxyz"
    atoms = Atoms("Si2", positions=[[0, 0, 0], [1.4, 1.4, 1.4]], cell=[5.4] * 3, pbc=True)
    atoms.calc = SinglePointCalculator(atoms, energy=-10.0, forces=np.zeros((2, 3)))
    write(data, [atoms], format="extxyz")
    document = base_config(data, tmp_path / "run", search_space={"weights.config_types.*.energy": {"real": [1, 2]}})
    path = write_config(tmp_path / "opt.yaml", document)
    assert search_space_of(load_optimise_config(path)).names == ["weights.config_types.default.energy"]


def test_an_unexpanded_wildcard_never_reaches_the_optimiser():
    with pytest.raises(ConfigError, match=r"'search_space\.weights\.config_types\.\*\.energy': expand the config_type "
                                          r"shorthand first"):
        SearchSpace({"weights.config_types.*.energy": Dimension(real=(1.0, 2.0))})
