"""Generate structures, label them with the teacher, write extended XYZ."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np
from ase import Atoms

from simkit.datasets.frames import Dataset, Frame
from simkit.datasets.reader import write_dataset
from simkit.datasets.teacher import labelled_frame
from simkit.distil.config import DistilConfig
from simkit.distil.generators import base_problem, generate
from simkit.distil.teachers import make_teacher
from simkit.errors import ConfigError
from simkit.lammps.session import evaluate_structures
from simkit.runtime.mpi import on_all_ranks, rank_of, size_of
from simkit.runtime.provenance import RunRecord
from simkit.structures.spec import load_structure

log = logging.getLogger(__name__)


def base_structure(config: DistilConfig) -> Atoms:
    """The structure every generator starts from (random vacancies drawn from the run's seed), refused naming
    the file and the generator when a generator cannot start from it."""
    base = load_structure(config.structure, np.random.default_rng(config.seed))
    for index, gen in enumerate(config.generators):
        problem = base_problem(gen, base)
        if problem:
            where = "structure" if config.structure.file is None else str(config.structure.file)
            raise ConfigError(f"{where}: generators[{index}]: {problem}")
    return base


def generator_rng(config: DistilConfig, index: int) -> np.random.Generator:
    # Each generator draws from its own stream, so editing one leaves the others' structures unchanged.
    return np.random.default_rng([config.seed, index])


def replay_generator(config: DistilConfig, index: int, potential, comm=None) -> list[tuple[Atoms, dict]]:
    """Generator ``index`` run again with another potential (a spec, e.g. a student) in the teacher's place:
    the same starting cell, seeds and schedule, so its MD frames compare one to one with the teacher's."""
    return generate(config.generators[index], base_structure(config), make_teacher(potential, comm),
                    generator_rng(config, index))


def run_distil(config: DistilConfig, comm=None) -> Dataset:
    """Build the dataset described by ``config``; rank 0 writes ``config.output``."""
    rank = rank_of(comm)
    size = size_of(comm)
    output = Path(config.output)
    base = base_structure(config)  # on every rank, so all of them refuse a structure the generators cannot use
    if rank == 0:
        output.parent.mkdir(parents=True, exist_ok=True)
    teacher = make_teacher(config.teacher, comm)  # describes the teacher; the generators build their own
    potentials = [teacher.potential] if hasattr(teacher, "potential") else []
    record = RunRecord(
        "distil", output.parent, config, rank=rank, mpi_size=size, seeds={"distil": config.seed}, potentials=potentials
    )
    with record:
        frames: dict[str, list[Frame]] = {"train": [], "benchmark": []}
        dropped: Counter[str] = Counter()
        agreed: Counter[str] = Counter()
        disagreement: dict[str, dict] = {}
        for index, (structures, labels) in enumerate(run_generators(config, base, comm)):
            gen = config.generators[index]
            if getattr(gen, "sampler", None) is not None:
                differences = [info["disagreement_meV_per_atom"] for _, info in structures]
                # Keyed by generator: the generators of one exploration often share their label.
                disagreement[f"generator {index} ({gen.label})"] = _disagreement_summary(
                    differences, gen.min_disagreement_meV_per_atom)
            for k, ((atoms, info), lab) in enumerate(zip(structures, labels)):
                if not np.isfinite(lab.energy_eV) or np.abs(lab.forces_eV_per_A).max() > config.max_force_eV_per_A:
                    dropped[gen.label] += 1
                    continue
                threshold = getattr(gen, "min_disagreement_meV_per_atom", None)
                if threshold is not None and abs(info["disagreement_meV_per_atom"]) < threshold:
                    agreed[gen.label] += 1
                    continue
                config_type = info.pop("config_type", gen.label)  # a trajectory labels frames by phase
                frames[gen.split].append(labelled_frame(
                    atoms, lab, config_type=config_type, source=f"generator {index} ({gen.label}) structure {k}",
                    with_virial=config.with_virial, info={**info, "generator": index},
                ))
            log.info("%s: %d structures labelled (%s)", gen.label,
                     len(structures) - dropped[gen.label] - agreed[gen.label], gen.split)
        name = f"distilled by {teacher.description.get('kind')}"
        dataset = Dataset(frames["train"], name=name)
        record.add_result("disagreement_meV_per_atom", disagreement)
        if not frames["train"] and not agreed:
            raise ValueError("every generated training frame was dropped (or every generator is 'split: benchmark'); "
                             "raise max_force_eV_per_A or use gentler generators")
        if frames["train"]:
            if rank == 0:
                write_dataset(dataset, output)
            record.add_output("dataset", output)
        else:
            # Nothing for the teacher to correct is a result (active learning has converged), not an error.
            log.info("every sampled frame agrees with the teacher within min_disagreement_meV_per_atom: "
                     "no training frames; %s not written", output)
        if frames["benchmark"]:
            benchmark = Dataset(frames["benchmark"], name=f"{name} (held-out benchmark)")
            if rank == 0:
                write_dataset(benchmark, config.benchmark_path)
            record.add_output("benchmark", config.benchmark_path)
            record.add_result("benchmark_frames_per_config_type", benchmark.config_types())
        record.add_result("frames_per_config_type", dataset.config_types())
        record.add_result("dropped_per_config_type", dict(dropped))
        record.add_result("agreeing_per_config_type", dict(agreed))
        record.add_result("atoms", dataset.n_atoms)
        record.add_result("teacher", teacher.description)
    return dataset


def _labelled(config: DistilConfig, index: int, base: Atoms, teacher, comm) -> tuple[list, list]:
    """Generator ``index``'s structures (run by its sampler, if any) and the teacher's labels of them."""
    gen = config.generators[index]
    sampler = make_teacher(gen.sampler, comm) if getattr(gen, "sampler", None) is not None else teacher
    structures = generate(gen, base, sampler, generator_rng(config, index))
    labels = teacher.label([atoms for atoms, _ in structures])
    if sampler is not teacher:
        for (_, info), difference in zip(structures, _disagreement(sampler, structures, labels, comm)):
            info["disagreement_meV_per_atom"] = difference
    return structures, labels


def generator_cost(gen, base: Atoms) -> float:
    """Rough cost of a generator in atom-steps (MD) or atoms (static structures), to balance ranks."""
    return gen.cost(len(base))


def assign_generators(costs: list[float], groups: int) -> list[list[int]]:
    """Generators per group, the most expensive first onto the least loaded group (longest-processing-time)."""
    load = [0.0] * groups
    chosen: list[list[int]] = [[] for _ in range(groups)]
    for index in sorted(range(len(costs)), key=lambda i: -costs[i]):
        group = min(range(groups), key=lambda g: load[g])
        chosen[group].append(index)
        load[group] += costs[index]
    return [sorted(c) for c in chosen]


def run_generators(config: DistilConfig, base: Atoms, comm=None) -> list[tuple[list, list]]:
    """(structures, labels) of every generator, in order, on every rank.

    Under MPI the ranks split into groups (one per generator at most) that run different generators at
    once, each group with its own teacher session; every generator draws from its own seeded stream, so
    the frames are the same as a serial run's. An error in any group is raised on every rank.
    """
    size, count = size_of(comm), len(config.generators)
    if size == 1 or count == 1:
        teacher = make_teacher(config.teacher, comm)
        return [_labelled(config, index, base, teacher, comm) for index in range(count)]
    groups = min(size, count)
    color = rank_of(comm) % groups
    sub = comm.Split(color, rank_of(comm))
    mine = assign_generators([generator_cost(gen, base) for gen in config.generators], groups)[color]

    def work() -> dict[int, tuple[list, list]]:
        teacher = make_teacher(config.teacher, sub)
        done = {index: _labelled(config, index, base, teacher, sub) for index in mine}
        return done if sub.Get_rank() == 0 else {}

    try:
        local = on_all_ranks(comm, work)
    finally:
        sub.Free()
    results: dict[int, tuple[list, list]] = {}
    for part in comm.allgather(local):
        results.update(part)
    return [results[index] for index in range(count)]


def _disagreement(sampler, structures, labels, comm) -> list[float]:
    """(E_sampler - E_teacher) per atom in meV for each structure (NaN where the teacher has no finite energy)."""
    atoms_list = [atoms for atoms, _ in structures]
    predictions = evaluate_structures(atoms_list, sampler.potential, comm=comm)
    return [float((p.energy_eV - lab.energy_eV) / len(atoms) * 1e3) if np.isfinite(lab.energy_eV) else float("nan")
            for atoms, p, lab in zip(atoms_list, predictions, labels)]


def _disagreement_summary(differences: list[float], threshold: float | None) -> dict:
    values = np.abs(np.asarray(differences, dtype=float))
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {"frames": 0}
    return {"frames": int(values.size), "mean_abs": float(values.mean()), "median_abs": float(np.median(values)),
            "max_abs": float(values.max()), "threshold": threshold,
            "at_or_above_threshold": None if threshold is None else int((values >= threshold).sum())}
