"""Where labelled data enters: extended XYZ into a Dataset of frames, checks, splits, weights.

Read (:mod:`~simkit.datasets.reader`) -> check (:mod:`~simkit.datasets.checks`)
-> split (:mod:`~simkit.datasets.splits`); :mod:`~simkit.datasets.spec` holds
the config schema and :mod:`~simkit.datasets.teacher` makes data from a
teacher potential.
"""

from simkit.datasets.frames import Dataset, Frame
from simkit.datasets.reader import read_dataset, write_dataset
from simkit.datasets.spec import DataSpec, LabelKeys, Weights
from simkit.datasets.splits import PreparedData, Split, prepare_data

__all__ = [
    "DataSpec",
    "Dataset",
    "Frame",
    "LabelKeys",
    "PreparedData",
    "Split",
    "Weights",
    "prepare_data",
    "read_dataset",
    "write_dataset",
]
