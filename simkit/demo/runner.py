"""``simkit demo``: distil a dataset, optimise SNAP (and ACE), run a device cycle, analyse, report.

Every step runs the same command a user would (``simkit distil``,
``simkit optimise``, ``mpirun -np N simkit md``, the analyses of
``simkit analyse``) on a config generated into ``<output>/configs/``, so any
step can be re-run or changed by hand. All sections are validated before the
first step starts. Steps that finished with the same config and inputs are
reused; a killed step resumes (see :mod:`simkit.demo.steps`).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from simkit.analysis import options_model
from simkit.config.loader import deep_merge, read_yaml, validate_config
from simkit.demo.analyse import RDF_FIGURE, analyse_cycle, crystallinity_options
from simkit.demo.config import DemoConfig
from simkit.demo.refine import MD_GENERATOR_KINDS, explore_config, refine_family
from simkit.demo.refine import POTENTIAL as REFINED_POTENTIAL
from simkit.demo.refine import SUMMARY as REFINE_SUMMARY
from simkit.demo.report import write_report
from simkit.demo.steps import (
    FOLDERS,
    PotentialHolder,
    Step,
    StepFailed,
    fingerprint,
    read_potential_file,
    run_command,
    simkit_command,
    write_yaml,
)
from simkit.demo.validate import SUMMARY, validate_student, write_summary
from simkit.distil.config import DistilConfig
from simkit.drivers.md.protocol import MdProtocol
from simkit.drivers.md.runner import INITIAL_STRUCTURE
from simkit.errors import ConfigError
from simkit.optimise.config import CONFIG_TYPE_WILDCARD, OptimiseConfig
from simkit.optimise.space import SearchSpace, check_search_space
from simkit.runtime.mpi import mpirun_executable
from simkit.runtime.provenance import RunRecord

log = logging.getLogger(__name__)

DATASET = "dataset.extxyz"
BENCHMARK = "dataset.benchmark.extxyz"  # what simkit distil names the held-out frames beside DATASET
CYCLE_REJECTED = "cycle_rejected.json"


def load_demo_config(path: Path, output_dir: Path | None = None) -> tuple[DemoConfig, Path]:
    """The validated demo config and the output folder (``-o``, the file's ``output_dir``, or ./runs/demo)."""
    data = read_yaml(path)
    config = validate_config(DemoConfig, data, source=str(path), base_dir=path.resolve().parent)
    out = output_dir or config.output_dir or Path.cwd() / "runs" / "demo"
    return config, Path(out).resolve()


def _dump(model) -> dict[str, Any]:
    return model.model_dump(mode="json")


class DemoPlan:
    """The demo's steps with their resolved configs; building it validates every section."""

    def __init__(self, config: DemoConfig, source: Path, out: Path):
        self.config, self.source, self.out = config, source, out
        self.base_dir = source.resolve().parent
        self.dataset = out / FOLDERS["data"] / DATASET
        self.benchmark = out / FOLDERS["data"] / BENCHMARK
        self.configs = out / "configs"
        self.families = ["snap"] + (["ace"] if config.ace is not None else [])
        self.data_config = self._data_config()
        self.has_benchmark = any(g.get("split") == "benchmark" for g in self.data_config["generators"])
        self.optimise_configs = {family: self._optimise_config(family) for family in self.families}
        self._cycle_config(self._placeholder_potential())  # checks the section before anything runs
        self._check_analysis()
        self._check_refine()

    # -- section -> command config ----------------------------------------------------------
    def _validated(self, model, data: dict[str, Any], section: str):
        return validate_config(model, data, source=f"{self.source}: {section}", base_dir=self.base_dir)

    def _data_config(self) -> dict[str, Any]:
        data = {"seed": self.config.seed, **self.config.data, "output": str(self.dataset)}
        return _dump(self._validated(DistilConfig, data, "data"))

    def _optimise_config(self, family: str) -> dict[str, Any]:
        section = getattr(self.config, family)
        fit = dict(section.get("fit", {}))
        fit.setdefault("backend", family)
        fit["data"] = {"train": str(self.dataset), **fit.get("data", {})}
        if self.has_benchmark and "validation" not in fit["data"]:
            # Candidates are scored on the held-out benchmark set the data step writes.
            fit["data"]["validation"] = {"kind": "file", "path": [str(self.benchmark)]}
        if fit["backend"] != family:
            raise ConfigError(f"{self.source}: {family}.fit.backend: expected {family!r}, got {fit['backend']!r}")
        data = {"seed": self.config.seed, **section, "fit": fit, "output_dir": str(self.out / FOLDERS[family])}
        # The data files do not exist before the first step: validate against this file and swap them back.
        probe = deep_merge(data, {"fit": {"data": {"train": str(self.source.resolve())}}})
        if probe["fit"]["data"].get("validation", {}).get("path") == [str(self.benchmark)]:
            probe["fit"]["data"]["validation"]["path"] = [str(self.source.resolve())]
        config = self._validated(OptimiseConfig, probe, family)
        # The config_type shorthand needs the training data, which the demo's first step makes: its
        # optimise step expands and checks it then.
        if not any(CONFIG_TYPE_WILDCARD in name for name in config.search_space):
            check_search_space(SearchSpace(config.search_space), config.fit, f"{self.source}: {family}")
        dumped = _dump(config)
        dumped["fit"]["data"]["train"] = str(self.dataset)
        if self.has_benchmark and dumped["fit"]["data"]["validation"].get("path") == [str(self.source.resolve())]:
            dumped["fit"]["data"]["validation"]["path"] = [str(self.benchmark)]
        return dumped

    def _placeholder_potential(self) -> dict[str, Any]:
        elements = self.optimise_configs["snap"]["fit"]["elements"]
        return {"kind": "lammps", "pair_style": "zero 5.0", "pair_coeff": ["* *"], "elements": elements,
                "cutoff_A": 5.0}

    def _cycle_config(self, potential: dict[str, Any]) -> dict[str, Any]:
        data = {"seed": self.config.seed, **self.config.cycle, "potential": potential,
                "output_dir": str(self.out / FOLDERS["cycle"])}
        return _dump(self._validated(MdProtocol, data, "cycle"))

    def _check_refine(self) -> None:
        section = self.config.refine
        if section is None:
            return
        for k, gen in enumerate(section.generators):
            if gen.get("kind") not in MD_GENERATOR_KINDS:
                raise ConfigError(f"{self.source}: refine.generators.{k}.kind: the student explores by MD; use one "
                                  f"of {sorted(MD_GENERATOR_KINDS)}, got {gen.get('kind')!r}")
        explore = explore_config(self.data_config, section, self._placeholder_potential(), self.config.seed,
                                 self.out / FOLDERS["refine"] / "explored.extxyz")
        self._validated(DistilConfig, explore, "refine (as a simkit distil config)")

    def _check_analysis(self) -> None:
        names = {s.get("name") for s in self.config.cycle.get("stages", [])}
        for name in self.config.analysis.rdf_stages:
            if name not in names:
                raise ConfigError(f"{self.source}: analysis.rdf_stages: no cycle stage is named {name!r} "
                                  f"(named stages: {sorted(n for n in names if n)})")
        # The cycle's starting cell, the default SOAP reference, exists only later: check with a stand-in file.
        options = crystallinity_options(self.config.analysis, self.source)
        if options.get("reference_file") == str(self.source.parent / INITIAL_STRUCTURE):
            options["reference_file"] = str(self.source)
        self._validated(options_model("crystallinity"), options, "analysis.crystallinity")
        reading = self.config.analysis.cycle
        for key in ("amorphised_after", "growth_during"):
            if reading is not None and getattr(reading, key) not in names:
                raise ConfigError(f"{self.source}: analysis.cycle.{key}: no cycle stage is named "
                                  f"{getattr(reading, key)!r} (named stages: {sorted(n for n in names if n)})")

    def optimised_potential(self, family: str) -> dict[str, Any]:
        """The potential spec of the best candidate of ``family`` with absolute paths."""
        return self._potential_file(self.out / FOLDERS[family] / "best" / "potential.yaml")

    def _potential_file(self, path: Path) -> dict[str, Any]:
        if "model" in read_yaml(path):
            raise ConfigError(f"{path}: the demo cycle takes a potential with at most a ZBL reference")
        return read_potential_file(path)

    def refined(self, family: str) -> bool:
        return self.config.refine is not None and family in self.config.refine.families

    def student_file(self, family: str) -> Path:
        """The file naming the student that validation and the cycle use: refined when the demo refines it."""
        if self.refined(family):
            return self.out / FOLDERS["refine"] / family / REFINED_POTENTIAL
        return self.out / FOLDERS[family] / "best" / "potential.yaml"

    def best_potential(self, family: str) -> dict[str, Any]:
        """The student of ``family`` (the refined one where the demo refines it) with absolute paths."""
        return self._potential_file(self.student_file(family))

    def student_inputs(self, family: str) -> list[Path]:
        """Files whose content defines ``family``'s student (for the steps' fingerprints)."""
        best_dir = self.out / FOLDERS[family] / "best"
        files = sorted(p for p in best_dir.iterdir() if p.is_file()) if best_dir.is_dir() else []
        refined = self.student_file(family)
        if self.refined(family) and refined.is_file():
            spec = read_yaml(refined)
            files += [refined] + [Path(v) for v in spec.values() if isinstance(v, str) and Path(v).is_file()]
        return files

    # -- steps ----------------------------------------------------------------------------------
    def step_names(self) -> list[str]:
        refine = ["refine"] if self.config.refine is not None else []
        validation = ["validation"] if self.config.validation is not None else []
        return ["data", *self.families, *refine, *validation, "cycle", "analysis"]

    def step(self, name: str) -> Step:
        """Step ``name``, built from what exists now (the cycle needs the optimisers' results)."""
        if name == "data":
            return self._data_step()
        if name in self.families:
            return self._optimise_step(name)
        if name == "validation":
            return self._validate_step()
        if name == "refine":
            return self._refine_step()
        return self.cycle_step() if name == "cycle" else self._analysis_step()

    def steps(self) -> list[Step]:
        return [self.step(name) for name in self.step_names()]

    def _data_step(self) -> Step:
        folder = self.out / FOLDERS["data"]
        path = self.configs / "distil.yaml"

        def execute(resume: bool) -> None:
            write_yaml(self.data_config, path, "simkit distil config generated by simkit demo")
            run_command("data", self._command("distil", str(path)), folder / "command.log", self.out)

        outputs = [self.dataset] + ([self.benchmark] if self.has_benchmark else [])
        return Step("data", "label structures with the teacher (simkit distil)", folder, self.data_config, [],
                    outputs, execute)

    def _optimise_step(self, family: str) -> Step:
        folder = self.out / FOLDERS[family]
        config = self.optimise_configs[family]
        path = self.configs / f"optimise_{family}.yaml"

        def execute(resume: bool) -> None:
            # The optimiser resumes from its own journal when its folder already holds a run.
            write_yaml(config, path, f"simkit optimise config ({family}) generated by simkit demo")
            run_command(family, simkit_command("optimise", str(path)), self.out / f"{FOLDERS[family]}.log", self.out)

        budget = config["budget"]["candidates"]
        inputs = [self.dataset] + ([self.benchmark] if self.has_benchmark else [])
        return Step(family, f"optimise {family.upper()} ({budget} candidates: accuracy, speed, survival)", folder,
                    config, inputs, [folder / "best" / "potential.yaml", folder / "candidates.csv"], execute)

    def _command(self, *args: str) -> list[str]:
        """A simkit command line; ``distil`` runs under mpirun with ``data_ranks`` (its ranks share the generators)."""
        command = simkit_command(*args)
        if args[0] == "distil" and self.config.data_ranks > 1:
            command = [str(mpirun_executable()), "-np", str(self.config.data_ranks), *command]
        return command

    def ranked_families(self) -> list[str]:
        """Families that may run the cycle, best first (for 'best': students that stayed stable in the
        validation replays first, then by their best candidate's objective)."""
        if self.config.cycle_model != "best":
            return [self.config.cycle_model]
        objectives = {}
        for family in self.families:
            provenance = self.out / FOLDERS[family] / "best" / "provenance.json"
            if provenance.is_file():
                objectives[family] = json.loads(provenance.read_text())["candidate"]["objective"]
        validation = self.out / FOLDERS["validation"] / SUMMARY
        unstable = set()
        if validation.is_file():
            unstable = {s["family"] for s in json.loads(validation.read_text())["students"] if not s.get("stable", True)}
        unranked = [f for f in self.families if f not in objectives]
        ranked = sorted(objectives, key=lambda f: (f in unstable, objectives[f], self.families.index(f)))
        return ranked + unranked

    def rejected_cycles(self) -> dict[str, dict[str, str]]:
        """{cycle fingerprint: {family, error}} of cycles that failed (kept across runs of the demo)."""
        path = self.out / CYCLE_REJECTED
        return json.loads(path.read_text()) if path.is_file() else {}

    def reject_cycle(self, step: Step, error: str) -> Path:
        """Record the failure and keep the failed run's folder beside the step's (returns where)."""
        rejected = self.rejected_cycles()
        kept = step.folder.with_name(f"{step.folder.name}.failed-{step.info['family']}")
        rejected[fingerprint(step.config, step.inputs)] = {"family": step.info["family"], "error": error,
                                                          "folder": kept.name}
        (self.out / CYCLE_REJECTED).write_text(json.dumps(rejected, indent=2) + "\n")
        if kept.exists():
            shutil.rmtree(kept)
        step.folder.rename(kept)
        return kept

    def untried_family(self) -> str | None:
        """The first ranked family whose cycle (this config, this potential) has not failed before."""
        rejected = self.rejected_cycles()
        for family in self.ranked_families():
            step = self.cycle_step(family)
            if not step.config["md"] or fingerprint(step.config, step.inputs) not in rejected:
                return family
        return None

    def cycle_family(self) -> str:
        """The family that runs the cycle (when every one has failed before: the first, to say why again)."""
        return self.untried_family() or self.ranked_families()[0]

    def cycle_step(self, family: str | None = None) -> Step:
        family = family or self.cycle_family()
        folder = self.out / FOLDERS["cycle"]
        path = self.configs / "cycle.yaml"
        ranks = self.config.cycle_ranks
        # Resolved when the step runs: the best potential exists only after the optimisation.
        config = self._cycle_config(self.best_potential(family)) if self.student_file(family).is_file() else {}

        def execute(resume: bool) -> None:
            write_yaml(config, path, f"simkit md config generated by simkit demo (potential: best {family})")
            command = simkit_command("md", str(path)) + (["--resume"] if resume else [])
            if ranks > 1:
                command = [str(mpirun_executable()), "-np", str(ranks), *command]
            run_command("cycle", command, self.out / f"{FOLDERS['cycle']}.log", self.out)

        inputs = self.student_inputs(family)
        outputs = [folder / name for name in ("trajectory.h5md", "thermo.csv", "summary.png", "run_summary.json")]
        return Step("cycle", f"device cycle with the best {family.upper()} on {ranks} MPI rank(s) (simkit md)",
                    folder, {"md": config, "ranks": ranks}, inputs, outputs, execute, info={"family": family})

    def _refine_step(self) -> Step:
        folder = self.out / FOLDERS["refine"]
        section = self.config.refine
        families = [f for f in section.families if f in self.families]

        def execute(resume: bool) -> None:
            for family in families:
                refine_family(family, self.out / FOLDERS[family], self.optimised_potential(family), self.dataset,
                              self.data_config, section, self.config.seed, folder / family,
                              lambda name, args, log_path: run_command(name, self._command(*args), log_path,
                                                                       self.out))

        bests = [self.out / FOLDERS[f] / "best" for f in families]
        inputs = [self.dataset] + sorted(p for d in bests if d.is_dir() for p in d.iterdir() if p.is_file())
        config = {"refine": section.model_dump(mode="json"), "data": self.data_config}
        return Step("refine", f"active learning of the best {', '.join(f.upper() for f in families)}: the student "
                    "explores, the teacher labels its mistakes, refit", folder, config, inputs,
                    [folder / f / REFINED_POTENTIAL for f in families], execute)

    def _validate_step(self) -> Step:
        folder = self.out / FOLDERS["validation"]
        section = self.config.validation
        potentials = {f: self.best_potential(f) for f in self.families if self.student_file(f).is_file()}

        def execute(resume: bool) -> None:
            distil = validate_config(DistilConfig, self.data_config, source=f"{self.source}: data",
                                     base_dir=self.base_dir)
            specs = {family: validate_config(PotentialHolder, {"potential": potential}, base_dir=self.base_dir,
                                             source=f"best {family} potential").potential
                     for family, potential in potentials.items()}
            results = [validate_student(family, spec, distil, self.dataset, self.out / FOLDERS[family],
                                        section, folder, metrics_dir=self.refined_metrics(family))
                       for family, spec in specs.items()]
            write_summary(results, folder)

        inputs = [self.dataset] + [p for f in self.families for p in self.student_inputs(f)]
        config = {"validation": section.model_dump(mode="json"), "potentials": potentials}
        return Step("validation", "students against the teacher: errors per phase, liquid and amorphous structure",
                    folder, config, inputs, [folder / SUMMARY], execute)

    def refined_metrics(self, family: str) -> Path | None:
        """The folder of the refined student's validation metrics (None: the optimiser's best is used as it is)."""
        summary = self.out / FOLDERS["refine"] / family / REFINE_SUMMARY
        if not self.refined(family) or not summary.is_file():
            return None
        folder = json.loads(summary.read_text()).get("metrics_dir")
        return Path(folder) if folder else None

    def _analysis_step(self) -> Step:
        folder = self.out / FOLDERS["analysis"]
        trajectory = self.out / FOLDERS["cycle"] / "trajectory.h5md"
        summary = self.out / FOLDERS["cycle"] / "run_summary.json"
        analysis = self.config.analysis.model_dump(mode="json")
        # The teacher audit compares the potential the cycle ran with the data step's teacher.
        student = self.cycle_step().config.get("md", {}).get("potential")
        teacher = self.data_config["teacher"]

        def execute(resume: bool) -> None:
            distil = validate_config(DistilConfig, self.data_config, source=f"{self.source}: data",
                                     base_dir=self.base_dir)
            spec = None if student is None else validate_config(
                PotentialHolder, {"potential": student}, source="the cycle's potential", base_dir=self.base_dir
            ).potential
            analyse_cycle(trajectory, summary, self.config.analysis, folder, base_dir=self.base_dir,
                          student=spec, teacher=distil.teacher)

        inputs = [p for p in (trajectory, summary) if p.is_file()]
        outputs = [folder / RDF_FIGURE, folder / "crystallinity" / "crystallinity.png"]
        config = {**analysis, "student": student, "teacher": teacher}
        return Step("analysis", "RDF by stage, crystalline fraction (simkit analyse), teacher audit", folder, config,
                    inputs, outputs, execute)


def _fall_back(plan: DemoPlan, step: Step, error: str) -> bool:
    """Record a failed cycle; True when another family's best is there to run it instead."""
    plan.reject_cycle(step, error)
    family = plan.untried_family()
    if family is None:
        return False
    log.warning("[cycle] failed with the best %s (%s); running it with the best %s instead",
                step.info["family"].upper(), error, family.upper())
    return True


def run_demo(config_path: Path, output_dir: Path | None = None) -> Path:
    """Run (or continue) the demo; returns the report's path.

    ``<out>/run_summary.json`` records the demo config, seed, versions, the
    config file's hash and what each step did; every step's own folder has the
    summary of its command.
    """
    config, out = load_demo_config(config_path, output_dir)
    out.mkdir(parents=True, exist_ok=True)
    plan = DemoPlan(config, config_path, out)
    log.info("demo: %s -> %s", config_path, out)
    history: list[dict[str, Any]] = []
    start = time.perf_counter()
    with RunRecord("demo", out, config, seeds={"seed": config.seed}, inputs=[config_path]) as record:
        # The cycle's and the analysis's inputs exist only once the steps before them have run,
        # so each step is built just before it runs.
        for name in plan.step_names():
            if name == "cycle":
                family = plan.untried_family()
                if family is None:
                    raise StepFailed(f"the device cycle failed before with every optimised model and this config "
                                     f"(see {out / CYCLE_REJECTED}); change the cycle section, or delete that file "
                                     "to try again as it is")
                step = plan.cycle_step(family)
            else:
                step = plan.step(name)
            try:
                outcome, wall = step.run()
            except StepFailed as exc:
                if step.name != "cycle" or not _fall_back(plan, step, str(exc)):
                    raise
                history.append({"step": step.name, "title": step.title, "outcome": "failed", "wall_s": 0.0,
                                "folder": str(step.folder.relative_to(out))})
                step = plan.step(name)
                outcome, wall = step.run()
            history.append({"step": step.name, "title": step.title, "outcome": outcome, "wall_s": round(wall, 1),
                            "folder": str(step.folder.relative_to(out))})
            record.add_result("steps", history)
            record.write()
        total = time.perf_counter() - start
        (out / "demo_steps.json").write_text(json.dumps({"steps": history, "wall_s": round(total, 1)}, indent=2) + "\n")
        report = write_report(plan, history, total)
        record.add_result("cycle_model", plan.cycle_family())
        record.add_output("report", report)
    return report
