"""Reading labelled extended XYZ, catching bad input by frame, and splitting the data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from simkit.datasets import LabelKeys, read_dataset, write_dataset
from simkit.datasets.checks import check_frames, check_no_duplicates
from simkit.datasets.frames import Dataset
from simkit.datasets.spec import DataSpec
from simkit.datasets.splits import holdout_split, kfold_splits, prepare_data
from simkit.errors import InputDataError


def _frames(count: int, rng, *, symbol: str = "Si", config_types=("bulk",)):
    images = []
    for k in range(count):
        atoms = bulk(symbol, "diamond", a=5.43, cubic=True)
        atoms.positions += rng.normal(0.0, 0.05, atoms.positions.shape)
        forces = rng.normal(size=(len(atoms), 3))
        atoms.calc = SinglePointCalculator(atoms, energy=-40.0 - k, forces=forces, stress=rng.normal(size=6) * 1e-3)
        atoms.info["config_type"] = config_types[k % len(config_types)]
        images.append(atoms)
    return images


def _write(path: Path, images) -> Path:
    write(path, images, format="extxyz")
    return path


def test_reads_energy_forces_virial_and_config_type(rng):
    images = _frames(3, rng, config_types=("bulk", "surface"))
    images[2].info.pop("config_type")
    data = read_dataset(_write(Path("d.extxyz"), images))
    assert len(data) == 3 and data.n_atoms == 24
    assert [f.config_type for f in data] == ["bulk", "surface", "default"]
    first = data[0]
    assert first.energy_eV == -40.0 and first.forces_eV_per_A.shape == (8, 3)
    stress = images[0].calc.results["stress"]
    expected = -images[0].get_volume() * np.array([[stress[0], stress[5], stress[4]],
                                                   [stress[5], stress[1], stress[3]],
                                                   [stress[4], stress[3], stress[2]]])
    assert first.virial_eV == pytest.approx(expected)
    assert first.source == "d.extxyz frame 0"
    # write -> read is lossless
    again = read_dataset(write_dataset(data, Path("again.extxyz")))
    assert again[1].virial_eV == pytest.approx(data[1].virial_eV)
    assert again[1].forces_eV_per_A == pytest.approx(data[1].forces_eV_per_A)


def test_custom_label_keys(rng):
    images = _frames(1, rng)
    atoms = images[0]
    atoms.info["dft_energy"] = -7.5
    atoms.arrays["dft_forces"] = np.zeros((8, 3))
    atoms.info["kind"] = "odd"
    atoms.calc = None
    keys = LabelKeys(energy="dft_energy", forces="dft_forces", config_type="kind")
    frame = read_dataset(_write(Path("k.extxyz"), [atoms]), keys)[0]
    assert (frame.energy_eV, frame.config_type, frame.virial_eV) == (-7.5, "odd", None)


def test_frame_without_energy_is_named(rng):
    images = _frames(3, rng)
    images[1].calc = SinglePointCalculator(images[1], forces=np.zeros((8, 3)))
    with pytest.raises(InputDataError, match=r"e\.extxyz frame 1: no energy \('energy'\)"):
        read_dataset(_write(Path("e.extxyz"), images))


def _bad_text() -> str:
    """Frame 0: good. Frame 1: forces with 2 columns. Frame 2: NaN force. Frame 3: infinite energy."""
    lattice = 'Lattice="5.43 0 0 0 5.43 0 0 0 5.43" pbc="T T T"'
    atoms = ["Si 0 0 0", "Si 1.3575 1.3575 1.3575"]
    good = [f"{a} 0.1 0.2 0.3" for a in atoms]
    return "\n".join([
        "2", f"{lattice} Properties=species:S:1:pos:R:3:forces:R:3 energy=-10.0", *good,
        "2", f"{lattice} Properties=species:S:1:pos:R:3:forces:R:2 energy=-10.0", *[f"{a} 0.1 0.2" for a in atoms],
        "2", f"{lattice} Properties=species:S:1:pos:R:3:forces:R:3 energy=-10.0", good[0], f"{atoms[1]} 0.1 nan 0.3",
        "2", f"{lattice} Properties=species:S:1:pos:R:3:forces:R:3 energy=inf", *good,
    ]) + "\n"


def test_shape_and_non_finite_problems_are_all_listed_by_frame():
    path = Path("bad.extxyz")
    path.write_text(_bad_text())
    data = read_dataset(path)
    with pytest.raises(InputDataError) as caught:
        check_frames(data, ["Si"], 0.5)
    message = str(caught.value)
    assert "3 problems" in message
    assert "bad.extxyz frame 1: forces have shape (2, 2), expected (2, 3) for 2 atoms" in message
    assert "bad.extxyz frame 2: non-finite force on atom 1" in message
    assert "bad.extxyz frame 3: non-finite energy (inf)" in message
    assert "frame 0" not in message


def test_element_missing_from_the_model_is_named(rng):
    images = _frames(2, rng) + _frames(1, rng, symbol="Ge")
    data = read_dataset(_write(Path("ge.extxyz"), images))
    with pytest.raises(InputDataError, match=r"ge\.extxyz frame 2: element\(s\) Ge not in the model's elements \['Si'\]"):
        check_frames(data, ["Si"], 0.5)


def test_overlapping_atoms_are_named(rng):
    images = _frames(2, rng)
    images[1].positions[5] = images[1].positions[3] + [0.1, 0.1, 0.0]
    data = read_dataset(_write(Path("o.extxyz"), images))
    with pytest.raises(InputDataError, match=r"o\.extxyz frame 1: overlapping atoms 3 and 5 are 0\.141 Å apart"):
        check_frames(data, ["Si"], 0.5)
    check_frames(data, ["Si"], 0.1)  # a looser threshold accepts it


def test_duplicated_frames_across_train_and_validation(rng):
    images = _frames(4, rng)
    train = read_dataset(_write(Path("train.extxyz"), images))
    copy = images[2].copy()
    copy.positions += np.asarray(copy.cell)[0]  # the same structure, one periodic image away
    copy.calc = SinglePointCalculator(copy, energy=-1.0, forces=np.zeros((8, 3)))
    validation = read_dataset(_write(Path("val.extxyz"), [_frames(1, rng)[0], copy]))
    with pytest.raises(InputDataError, match=r"val\.extxyz frame 1 \(validation\) duplicates train\.extxyz frame 2"):
        check_no_duplicates(train, validation)
    with pytest.raises(InputDataError, match=r"train\.extxyz frame 2 and both\.extxyz frame 4 are the same structure"):
        check_no_duplicates(Dataset.concatenate([train, read_dataset(_write(Path("both.extxyz"), images + [copy]))]))


def test_bad_data_is_refused_before_any_fit(rng):
    images = _frames(6, rng)
    images[4].positions[1] = images[4].positions[0]
    spec = DataSpec.model_validate({"train": str(_write(Path("t.extxyz"), images))})
    with pytest.raises(InputDataError, match=r"t\.extxyz frame 4: overlapping atoms 0 and 1 are 0 Å apart"):
        prepare_data(spec, ["Si"], seed=0)


def test_holdout_is_stratified_and_kfold_covers_each_frame_once(rng):
    images = _frames(10, rng, config_types=("a", "a", "a", "b", "b", "c", "c", "c", "c", "c"))
    data = read_dataset(_write(Path("s.extxyz"), images))
    split = holdout_split(data, 0.4, np.random.default_rng(1))
    counts = split.validation.config_types()
    assert dict(sorted(counts.items())) == {"a": 1, "b": 1, "c": 2}  # round(0.4 * n), at least one
    assert len(split.train) + len(split.validation) == 10
    same = holdout_split(data, 0.4, np.random.default_rng(1))
    assert [f.source for f in same.validation] == [f.source for f in split.validation]

    folds = kfold_splits(data, 3, np.random.default_rng(2))
    validated = sorted(f.source for fold in folds for f in fold.validation)
    assert validated == sorted(f.source for f in data)
    for fold in folds:
        assert not {f.source for f in fold.train} & {f.source for f in fold.validation}
        assert {f.config_type for f in fold.validation} >= {"c"}
    with pytest.raises(InputDataError, match="cannot make 11 folds"):
        kfold_splits(data, 11, np.random.default_rng(2))
