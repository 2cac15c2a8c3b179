"""The side-by-side table (value, reference, difference, tolerance, verdict) and the figures.

Outputs in ``output_dir``: ``validation.json`` (every row, curves, problems),
``validation.csv`` and ``validation.md`` (the table), ``eos.png`` and
``dimer.png`` when those properties were computed.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
from ase.data import atomic_numbers

from simkit.analysis.output import new_figure, save_figure
from simkit.radiation.repulsion import zbl_energy_eV
from simkit.runtime.files import atomic_write_text
from simkit.validation.crystal import GPA_PER_EV_PER_A3, birch_murnaghan_eV
from simkit.validation.properties import Properties

JSON_FILE = "validation.json"
CSV_FILE = "validation.csv"
MARKDOWN_FILE = "validation.md"
EOS_FIGURE = "eos.png"
DIMER_FIGURE = "dimer.png"
LIQUID_FIGURE = "liquid.png"
PHONON_FIGURE = "phonon_dos.png"

_UNITS = (("_THz", "THz"), ("_J_per_m2", "J/m^2"), ("_g_per_cm3", "g/cm^3"), ("_deg", "degree"), ("_GPa", "GPa"), ("_meV_per_atom", "meV/atom"), ("_eV_per_atom", "eV/atom"),
          ("_A3_per_atom", "Å^3/atom"), ("_A3", "Å^3"), ("_eV", "eV"), ("_A", "Å"), ("_atoms", "atoms"))


def unit_of(name: str) -> str:
    """The unit a quantity's name carries (``C11_GPa`` -> GPa); dimensionless otherwise."""
    for suffix, unit in _UNITS:
        if name.endswith(suffix):
            return unit
    return "1"


def rows(ours: Properties, reference: Properties | dict | None, tolerances: dict[str, float]) -> list[dict]:
    """One row per quantity: value, reference, difference, tolerance and whether it passes."""
    values = reference.quantities if isinstance(reference, Properties) else (reference or {})
    table = []
    for name, value in ours.quantities.items():
        ref = values.get(name)
        difference = None if value is None or ref is None else float(value) - float(ref)
        tolerance = tolerances.get(name)
        passed = None if tolerance is None or difference is None else abs(difference) <= tolerance
        if tolerance is not None and difference is None:
            passed = False  # a tolerance on a quantity that could not be compared is not met
        row = {"quantity": name, "unit": unit_of(name), "value": value, "reference": ref,
               "difference": difference, "tolerance": tolerance, "passed": passed}
        note = ours.notes.get(name)
        if note:
            row["note"] = note
        table.append(row)
    missing = sorted(set(tolerances) - set(ours.quantities))
    for name in missing:
        table.append({"quantity": name, "unit": unit_of(name), "value": None, "reference": values.get(name),
                      "difference": None, "tolerance": tolerances[name], "passed": False,
                      "note": "not computed: its property failed (see problems) or is not enabled"})
    return table


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, int):
        return str(value)
    return f"{value:.6g}"


def markdown(table: list[dict], title: str) -> str:
    lines = [f"# {title}", "", "| quantity | unit | value | reference | difference | tolerance | passes |",
             "|---|---|---|---|---|---|---|"]
    for row in table:
        lines.append("| " + " | ".join([row["quantity"], row["unit"], *(_fmt(row[k]) for k in (
            "value", "reference", "difference", "tolerance", "passed"))]) + " |")
    return "\n".join(lines) + "\n"


def write_outputs(out: Path, summary: dict, ours: Properties, reference: Properties | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / JSON_FILE, json.dumps(summary, indent=2) + "\n")
    buffer = io.StringIO()
    fields = ["quantity", "unit", "value", "reference", "difference", "tolerance", "passed", "note"]
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(summary["table"])
    atomic_write_text(out / CSV_FILE, buffer.getvalue())
    atomic_write_text(out / MARKDOWN_FILE, markdown(summary["table"], summary["title"]))
    if "eos" in ours.curves:
        _eos_figure(out / EOS_FIGURE, ours, reference)
    if "dimer" in ours.curves:
        _dimer_figure(out / DIMER_FIGURE, ours, reference)
    if "liquid" in ours.curves:
        _liquid_figure(out / LIQUID_FIGURE, ours, reference)
    if "phonons" in ours.curves:
        _phonon_figure(out / PHONON_FIGURE, ours, reference)


def _eos_figure(path: Path, ours: Properties, reference: Properties | None) -> None:
    figure = new_figure()
    axes = figure.add_subplot()
    for props, name, style in ((ours, "potential", "o"), (reference, "reference", "s")):
        if props is None or "eos" not in props.curves:
            continue
        curve = props.curves["eos"]
        v = np.asarray(curve["volume_A3_per_atom"])
        fit = curve["fit"]
        grid = np.linspace(v.min(), v.max(), 200)
        fitted = birch_murnaghan_eV(grid, fit["E0_eV_per_atom"], fit["V0_A3_per_atom"],
                                    fit["B0_GPa"] / GPA_PER_EV_PER_A3, fit["B0_prime"])
        line = axes.plot(grid, fitted, label=f"{name}: B0 = {fit['B0_GPa']:.1f} GPa, B0' = {fit['B0_prime']:.2f}")
        axes.plot(v, curve["energy_eV_per_atom"], style, color=line[0].get_color())
    axes.set_xlabel("volume (Å$^3$/atom)")
    axes.set_ylabel("energy (eV/atom)")
    axes.legend()
    save_figure(figure, path)


def _dimer_figure(path: Path, ours: Properties, reference: Properties | None) -> None:
    figure = new_figure()
    axes = figure.add_subplot()
    for props, name, style in ((ours, "potential", "-"), (reference, "reference", "--")):
        if props is None or "dimer" not in props.curves:
            continue
        for pair, curve in props.curves["dimer"].items():
            axes.plot(curve["distance_A"], curve["energy_eV"], style, label=f"{name} {pair}")
    for pair in ours.curves["dimer"]:
        a, b = pair.split("-")
        if a in atomic_numbers and b in atomic_numbers:
            r = np.asarray(ours.curves["dimer"][pair]["distance_A"])
            axes.plot(r, zbl_energy_eV(atomic_numbers[a], atomic_numbers[b], r), ":", color="grey",
                      label=f"ZBL {pair}")
    axes.set_yscale("symlog", linthresh=1.0)
    axes.set_xlabel("distance (Å)")
    axes.set_ylabel("dimer energy (eV)")
    axes.legend(fontsize="small")
    save_figure(figure, path)


def _liquid_figure(path: Path, ours: Properties, reference: Properties | None) -> None:
    figure = new_figure(9.6, 4.0)
    rdf_axes, adf_axes = figure.subplots(1, 2)
    for props, name, style in ((ours, "potential", "-"), (reference, "reference", "--")):
        if props is None or "liquid" not in props.curves:
            continue
        curve = props.curves["liquid"]
        rdf_axes.plot(curve["r_A"], curve["g_total"], style, label=name)
        adf_axes.plot(curve["angle_deg"], curve["adf_per_deg"], style, label=name)
    given = ours.curves.get("liquid_reference") or {}
    if "g_total" in given:
        rdf_axes.plot(given["r_A"], given["g_total"], "k:", label="reference curve")
    if "adf_per_deg" in given:
        adf_axes.plot(given["angle_deg"], given["adf_per_deg"], "k:", label="reference curve")
    curve = ours.curves["liquid"]
    rdf_axes.axvline(curve["bond_cutoff_A"], color="grey", lw=0.8, ls=":")
    rdf_axes.set_xlabel("r (Å)")
    rdf_axes.set_ylabel("g(r)")
    rdf_axes.set_title(f"liquid at {curve['temperature_K']:g} K")
    adf_axes.set_xlabel(f"bond angle (degrees; neighbours within {curve['bond_cutoff_A']:g} Å)")
    adf_axes.set_ylabel("probability density (1/degree)")
    adf_axes.set_xlim(0, 180)
    rdf_axes.legend()
    save_figure(figure, path)


def _phonon_figure(path: Path, ours: Properties, reference: Properties | None) -> None:
    figure = new_figure()
    axes = figure.add_subplot()
    for props, name, style in ((ours, "potential", "-"), (reference, "reference", "--")):
        if props is None or "phonons" not in props.curves:
            continue
        curve = props.curves["phonons"]
        axes.plot(curve["frequency_THz"], curve["dos_per_THz"], style, label=name)
    axes.set_xlabel("frequency (THz)")
    axes.set_ylabel("phonon density of states (states/THz per primitive cell)")
    axes.legend()
    save_figure(figure, path)
