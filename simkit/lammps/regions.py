"""Named spatial regions, the frozen/dynamic split, and groups taken from regions.

A region is an axis-aligned block in LAMMPS box coordinates (Å). Observables
that follow a region (the temperature or crystalline fraction of whatever atoms
are inside it *now*) use the LAMMPS region directly. Integrators and
thermostats need a group, which is a snapshot of the atoms inside a region at
the moment it is taken. Groups are saved in LAMMPS restart files; regions are
not, so :func:`define_regions` is called again after a restart.

Atoms in *frozen* regions are never integrated, thermostatted or given
velocities: they form a rigid crystalline slab that stops heat from crossing a
periodic boundary. They still interact with every other atom.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from simkit.lammps.session import LammpsSession
from simkit.structures.blocks import Block, Bound

FROZEN_GROUP = "simkit_frozen"
DYNAMIC_GROUP = "simkit_dynamic"
_FREEZE_FIX = "simkit_freeze"
_COUNT_VARIABLE = "simkit_count"
_SCRATCH_GROUP = "simkit_scratch"


def region_id(name: str) -> str:
    return f"simkit_r_{name}"


def group_id(name: str) -> str:
    return f"simkit_g_{name}"


def _bound(value: Bound) -> str:
    return "INF" if value is None else repr(float(value))


def define_regions(session: LammpsSession, blocks: Iterable[Block]) -> None:
    """Define one LAMMPS region per block (needed again after reading a restart file)."""
    existing = set(_ids(session, "region"))
    for block in blocks:
        rid = region_id(block.name)
        if rid in existing:
            session.command(f"region {rid} delete")
        bounds = " ".join(f"{_bound(lo)} {_bound(hi)}" for lo, hi in zip(block.lo_A, block.hi_A))
        session.command(f"region {rid} block {bounds} units box")


def split_frozen(session: LammpsSession, blocks: Sequence[Block]) -> int:
    """Create the frozen and dynamic groups from the frozen blocks; returns the frozen atom count.

    Frozen atoms get zero velocity and zero force (so minimisers leave them in
    place too). Call once, on a freshly created system: the groups then live
    in every restart file.
    """
    frozen = [b for b in blocks if b.frozen]
    if frozen:
        session.command(f"group {FROZEN_GROUP} region " + region_id(frozen[0].name))
        for block in frozen[1:]:
            session.command(f"group {_SCRATCH_GROUP} region {region_id(block.name)}")
            session.command(f"group {FROZEN_GROUP} union {FROZEN_GROUP} {_SCRATCH_GROUP}")
            session.command(f"group {_SCRATCH_GROUP} delete")
    else:
        session.command(f"group {FROZEN_GROUP} empty")
    session.command(f"group {DYNAMIC_GROUP} subtract all {FROZEN_GROUP}")
    count = count_atoms(session, FROZEN_GROUP)
    hold_frozen(session, count)
    return count


def freeze_atoms(session: LammpsSession, indices: Sequence[int]) -> str:
    """Freeze the atoms at ``indices`` (0-based, in creation order) and return the group of the others.

    Same groups and fixes as :func:`split_frozen`, chosen by atom instead of by region.
    """
    ids = np.sort(np.asarray(indices, dtype=int)) + 1  # LAMMPS IDs of a created system start at 1
    breaks = np.flatnonzero(np.diff(ids) != 1)
    starts = np.concatenate([[ids[0]], ids[breaks + 1]]) if len(ids) else []
    ends = np.concatenate([ids[breaks], [ids[-1]]]) if len(ids) else []
    # ID ranges keep the command short for the contiguous blocks a slab usually is.
    session.command(f"group {FROZEN_GROUP} id " + " ".join(f"{a}:{b}" for a, b in zip(starts, ends))
                    if len(ids) else f"group {FROZEN_GROUP} empty")
    session.command(f"group {DYNAMIC_GROUP} subtract all {FROZEN_GROUP}")
    hold_frozen(session, len(ids))
    return DYNAMIC_GROUP


def hold_frozen(session: LammpsSession, frozen_count: int) -> None:
    """Zero the velocities and forces of frozen atoms (after a restart too: fixes are not saved)."""
    if frozen_count == 0:
        return
    session.command(f"velocity {FROZEN_GROUP} set 0.0 0.0 0.0")
    if _FREEZE_FIX not in _ids(session, "fix"):
        session.command(f"fix {_FREEZE_FIX} {FROZEN_GROUP} setforce 0.0 0.0 0.0")


def snapshot_group(session: LammpsSession, name: str, within: str = DYNAMIC_GROUP) -> tuple[str, int]:
    """(Re)make the group of atoms of ``within`` now inside region ``name``; returns (group ID, count)."""
    gid = group_id(name)
    if gid in _ids(session, "group"):
        session.command(f"group {gid} delete")
    session.command(f"group {_SCRATCH_GROUP} region {region_id(name)}")
    session.command(f"group {gid} intersect {_SCRATCH_GROUP} {within}")
    session.command(f"group {_SCRATCH_GROUP} delete")
    return gid, count_atoms(session, gid)


def subtract_group(session: LammpsSession, new: str, base: str, removed: str) -> int:
    """Make group ``new`` = ``base`` minus ``removed``; returns its atom count."""
    if new in _ids(session, "group"):
        session.command(f"group {new} delete")
    session.command(f"group {new} subtract {base} {removed}")
    return count_atoms(session, new)


def count_atoms(session: LammpsSession, group: str, region: str | None = None) -> int:
    """Atoms in ``group`` (and, if given, currently inside region ``region``), over all ranks."""
    where = f"{group},{region_id(region)}" if region else group
    session.command(f'variable {_COUNT_VARIABLE} equal "count({where})"')
    return int(round(session.variable(_COUNT_VARIABLE)))


def _ids(session: LammpsSession, category: str) -> list[str]:
    return session.ids(category)
