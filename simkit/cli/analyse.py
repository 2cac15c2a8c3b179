"""``simkit analyse FILE ANALYSIS [options]``: one analysis of an H5MD or extended XYZ trajectory.

Options are command-line flags generated from each analysis's option model
(``--r-max-A 8`` sets ``r_max_A``), validated like a YAML config. Flags rather
than a YAML file because an analysis is one step on one file that people
repeat with small changes; the resolved options land in run_summary.json, so
every figure stays reproducible without keeping a config file around.
"""

from __future__ import annotations

import argparse
import json
import logging
import types
import typing
from pathlib import Path

from simkit.analysis import ANALYSES, options_model, run_analysis
from simkit.analysis.parallel import SPLIT
from simkit.config.loader import validate_config
from simkit.errors import InputDataError
from simkit.runtime.mpi import launcher_rank, launcher_size

log = logging.getLogger(__name__)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _field_type(annotation):
    """(python type, choices) for a field annotation; Optional[X] -> X."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _field_type(args[0])
    if origin is typing.Literal:
        return str, list(typing.get_args(annotation))
    if origin is typing.Annotated:
        return _field_type(typing.get_args(annotation)[0])
    return annotation, None


def _parse_mapping(text: str) -> dict:
    """'Ge-Te=3.2,Ge-Ge=2.9' or JSON -> dict."""
    text = text.strip()
    if text.startswith("{"):
        return json.loads(text)
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    if any(len(p) != 2 for p in pairs):
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE[,KEY=VALUE...] or JSON, got {text!r}")
    return {k.strip(): v.strip() for k, v in pairs}


def add_model_flags(parser: argparse.ArgumentParser, model) -> None:
    """One flag per field of ``model`` (a pydantic model); unset flags keep the model's default."""
    for name, info in model.model_fields.items():
        kind, choices = _field_type(info.annotation)
        default = info.get_default(call_default_factory=True)
        help_text = (info.description or name) + (f" (default: {default})" if default not in (None, {}, []) else "")
        common = {"dest": name, "default": argparse.SUPPRESS, "help": help_text}
        if kind is bool:
            parser.add_argument(_flag(name), action=argparse.BooleanOptionalAction, **common)
        elif typing.get_origin(kind) is dict or kind is dict:
            parser.add_argument(_flag(name), type=_parse_mapping, metavar="K=V,...", **common)
        elif choices:
            parser.add_argument(_flag(name), choices=choices, **common)
        else:
            metavar = {int: "INT", float: "NUMBER"}.get(kind, "VALUE")
            parser.add_argument(_flag(name), metavar=metavar, **common)


class Command:
    """Analyse an H5MD or extended XYZ trajectory: rdf, angles, coordination, msd, profiles, crystallinity,
    defects or grains (msd needs H5MD: extended XYZ has no image flags to unwrap positions).

    Writes <name>.h5 (units attributes), <name>.csv (units in headers), <name>.png
    and run_summary.json into the output directory (default: analysis/<name>/
    beside the trajectory). `simkit analyse FILE NAME --help` lists the options.
    """

    help = ("analyse an H5MD or extended XYZ trajectory (rdf, angles, coordination, msd, profiles, crystallinity, "
            "defects, grains)")

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", type=Path, help="trajectory: H5MD (.h5md), or extended XYZ (.xyz, .extxyz)")
        sub = parser.add_subparsers(dest="analysis", metavar="ANALYSIS")
        sub.required = True
        for name in ANALYSES:
            model = options_model(name)
            summary = (model.__doc__ or name).strip().splitlines()[0]
            child = sub.add_parser(name, help=summary, description=summary)
            child.add_argument("-o", "--output-dir", type=Path, help="where outputs go (default: analysis/<name>/ "
                               "beside the trajectory)")
            child.add_argument("--no-progress", action="store_true", help="no progress bar")
            add_model_flags(child, model)

    @staticmethod
    def run_dir(args: argparse.Namespace) -> Path:
        if not args.file.is_file():  # before a folder is made beside a file that is not there
            raise InputDataError(f"{args.file}: trajectory file not found")
        return args.output_dir or args.file.resolve().parent / "analysis" / args.analysis

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        # lazy: keep `simkit --help` fast
        from simkit.runtime.provenance import RunRecord

        reserved = {"file", "analysis", "output_dir", "no_progress", "command", "traceback", "verbose", "_command"}
        given = {k: v for k, v in vars(args).items() if k not in reserved}
        options = validate_config(options_model(args.analysis), given, source=f"simkit analyse {args.analysis}", base_dir=Path.cwd())
        output_dir = Command.run_dir(args)
        if args.analysis in SPLIT and launcher_size() > 1:
            return _run_on_every_rank(args, options, output_dir)
        rank = launcher_rank()  # from the environment: MPI is not initialised for a serial analysis
        if rank != 0:
            return 0  # an analysis that does not split over frames runs on rank 0; the others have nothing to do
        record = RunRecord(f"analyse {args.analysis}", output_dir, options, inputs=[args.file])
        with record:
            result, outputs = run_analysis(args.file, args.analysis, options, output_dir,
                                           progress=not args.no_progress)
            for kind, path in outputs.items():
                record.add_output(kind, path)
            record.add_result("summary", _summary(args.analysis, result))
        log.info("%s of %s: outputs in %s", args.analysis, args.file, output_dir)
        return 0


def _run_on_every_rank(args: argparse.Namespace, options, output_dir: Path) -> int:
    """The selected frames split over the ranks (:mod:`simkit.analysis.parallel`); rank 0 writes."""
    # lazy: keep `simkit --help` fast
    from simkit.analysis.parallel import run_split
    from simkit.runtime.mpi import on_root, world
    from simkit.runtime.provenance import RunRecord

    comm = world()
    record = RunRecord(f"analyse {args.analysis}", output_dir, options, inputs=[args.file], rank=comm.Get_rank(),
                       mpi_size=comm.Get_size())
    with record:
        result = run_split(args.file, args.analysis, options, comm, progress=not args.no_progress)

        def write():
            outputs = result.write(Path(output_dir))
            for kind, path in outputs.items():
                record.add_output(kind, path)
            record.add_result("summary", _summary(args.analysis, result))
            record.add_result("frames_split_over_ranks", comm.Get_size())

        on_root(comm, write)
    if comm.Get_rank() == 0:
        log.info("%s of %s on %d ranks: outputs in %s", args.analysis, args.file, comm.Get_size(), output_dir)
    return 0


def _summary(name: str, result) -> dict:
    """A few headline numbers for run_summary.json."""
    if name == "rdf":
        return {"frames": result.frames, "first_peak_A": result.first_peaks_A()}
    if name == "crystallinity":
        return {"frames": len(result.steps), "mean_fraction": float(result.fraction.mean()),
                "final_fraction": float(result.fraction[-1])}
    if name == "msd":
        return {"atoms": result.atoms, "final_msd_A2": {k: float(v[-1]) for k, v in result.msd_A2.items()}}
    if name == "angles":
        return {"frames": result.frames, "triplets": result.triplets}
    if name == "defects":
        return result.summary()
    if name == "grains":
        return result.summary()  # frames, final grain count, final mean equivalent diameter (nm)
    if name == "coordination":
        return {"frames": result.frames, "mean": {k: float(v.mean()) for k, v in result.mean.items()}}
    return {"frames": result.frames}
