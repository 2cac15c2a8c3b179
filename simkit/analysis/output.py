"""Writing analysis results: HDF5 with units attributes, CSV with units in headers, PNG figures.

Figures use matplotlib's object API on an Agg canvas (no pyplot, no global
backend state), so analyses run headless and in parallel processes.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Mapping

import h5py
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def write_csv(path: Path, columns: Mapping[str, np.ndarray]) -> Path:
    """Columns of equal length; names carry units (``r_A``, ``g_Cu-Cu``)."""
    names = list(columns)
    arrays = [np.asarray(columns[name]) for name in names]
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise ValueError(f"CSV columns differ in length: {dict(zip(names, map(len, arrays)))}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for row in zip(*arrays):
            writer.writerow([_csv_value(v) for v in row])
    return path


def _csv_value(value: Any) -> Any:
    if isinstance(value, (np.floating, float)):
        return repr(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


def write_hdf5(path: Path, datasets: Mapping[str, tuple[np.ndarray, str]], attrs: Mapping[str, Any]) -> Path:
    """Each dataset gets a ``units`` attribute; ``attrs`` (e.g. the options) go on the root as JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        for key, value in attrs.items():
            f.attrs[key] = value if isinstance(value, (int, float, str)) else json.dumps(value, default=str)
        for name, (array, units) in datasets.items():
            array = np.asarray(array)
            if array.dtype.kind == "U":
                array = array.astype(h5py.string_dtype())
            dataset = f.create_dataset(name, data=array)
            dataset.attrs["units"] = units
    return path


def new_figure(width_in: float = 6.4, height_in: float = 4.2) -> Figure:
    figure = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, path: Path, dpi: int = 150) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    return path


def time_axis(times_ps: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, str]:
    """(x values, axis label) for a per-frame figure: times in ps, or steps where a frame has no time
    (an extended XYZ file may give none, and NaN times would draw an empty figure)."""
    times = np.asarray(times_ps, dtype=float)
    if np.isfinite(times).all():
        return times, "time (ps)"
    return np.asarray(steps), "step (the file gives no times)"


def pair_label(a: str, b: str) -> str:
    return f"{a}-{b}"
