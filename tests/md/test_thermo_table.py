"""``thermo.csv`` read back by a resumed run (the rows it keeps, then its last row): a damaged table is refused
with one line naming the file and the line, never a traceback or a made-up final row."""

from __future__ import annotations

import json
import shutil

import pytest

from simkit.drivers.md.records import ThermoTable
from simkit.errors import InputDataError
from tests.conftest import run_cli
from tests.md.test_resume import TINY

HEADER = ("stage,step,time_ps,temperature_K,potential_energy_eV,kinetic_energy_eV,total_energy_eV,pressure_bar,"
          "volume_A3\n")
FIRST = "1-nvt,5,0.005,280.0,-43.3,0.2,-43.1,1100.0,160.2\n"
LAST = "1-nvt,10,0.01,301.5,-43.2,0.3,-42.9,1200.0,160.2\n"


def _resumed_table(path, content: bytes | str) -> ThermoTable:
    """A table as a resumed attempt that has written no rows sees it, holding ``content``."""
    path.write_text(HEADER)
    table = ThermoTable(path, [], rank=0, keep_rows=0)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return table


def test_the_last_row_of_the_file_is_the_final_row(tmp_path):
    final = _resumed_table(tmp_path / "thermo.csv", HEADER + FIRST + LAST).final()
    assert final == {"stage": "1-nvt", "step": 10, "time_ps": 0.01, "temperature_K": 301.5,
                     "potential_energy_eV": -43.2, "kinetic_energy_eV": 0.3, "total_energy_eV": -42.9,
                     "pressure_bar": 1200.0, "volume_A3": 160.2}
    assert _resumed_table(tmp_path / "empty.csv", HEADER).final() == {}


DAMAGED = {
    "cut-row": (HEADER + FIRST + LAST[:20], "(line 3): 5 fields, the header has 9"),
    "text-number": (HEADER + FIRST + LAST.replace("301.5", "3o1.5"), "(line 3): 'temperature_K' = '3o1.5' is not a finite number"),
    "nan": (HEADER + FIRST + LAST.replace("301.5", "nan"), "(line 3): 'temperature_K' = 'nan' is not a finite number"),
    "fractional-step": (HEADER + LAST.replace(",10,", ",10.5,"), "(line 2): 'step' = '10.5' is not a whole number"),
    "open-quote": (HEADER + FIRST + '"' + LAST, "(line 3): 1 fields, the header has 9"),
    "not-utf8": ((HEADER + FIRST).encode() + b"\xff\xfe\x00garbage\n", "not a readable CSV table"),
    "other-columns": (HEADER.replace("volume_A3", "volume") + FIRST, "its columns differ"),
    "empty-file": ("", "its columns differ"),
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_a_damaged_table_is_refused_naming_file_and_line(case, tmp_path):
    content, expected = DAMAGED[case]
    path = tmp_path / "thermo.csv"
    table = _resumed_table(path, content)
    with pytest.raises(InputDataError) as refused:
        table.final()
    message = str(refused.value)
    assert message.startswith(f"{path}: cannot read the run's final thermo row") and expected in message, message
    assert "\n" not in message


@pytest.mark.parametrize("case", ["cut-row", "open-quote", "not-utf8", "other-columns"])
def test_a_resume_keeping_damaged_rows_is_refused(case, tmp_path):
    content, expected = DAMAGED[case]
    path = tmp_path / "thermo.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(InputDataError) as refused:
        ThermoTable(path, [], rank=0, keep_rows=2)
    assert str(refused.value).startswith(f"{path}: cannot resume"), refused.value
    assert expected in str(refused.value)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("thermo")
    config = folder / "tiny.yaml"
    config.write_text(TINY.format(out=folder / "run", temperature=300).replace("checkpoint_every: 5",
                                                                               "checkpoint_every: 5\nthermo_every: 5"))
    result = run_cli("md", str(config))
    assert result.returncode == 0, result.stderr
    return folder / "run"


@pytest.mark.parametrize("case, expected", [
    ("text-number", "cannot read the run's final thermo row (line 3): 'temperature_K' = 'x'"),
    ("cut-row", "cannot resume (line 3): 3 fields, the header has 9"),
])
def test_resuming_to_write_final_outputs_from_a_damaged_table_is_one_line(case, expected, finished_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    # Killed after its last step, before its final outputs: the resume runs no step and reads the table's last row.
    summary = json.loads((run / "run_summary.json").read_text())
    (run / "run_summary.json").write_text(json.dumps(summary | {"status": "running"}))
    thermo = run / "thermo.csv"
    lines = thermo.read_text().splitlines(keepends=True)
    assert len(lines) == 3  # header, steps 5 and 10
    fields = lines[-1].split(",")
    lines[-1] = ",".join(fields[:3] + ["x"] + fields[4:]) if case == "text-number" else ",".join(fields[:3]) + "\n"
    thermo.write_text("".join(lines))
    result = run_cli("md", "--resume", str(run), timeout=120)
    assert result.returncode == 2, result.stderr
    shown = [line for line in result.stderr.strip().splitlines() if not line.startswith(("INFO", "WARNING"))]
    assert len(shown) == 1 and "Traceback" not in result.stderr, result.stderr
    assert shown[0].startswith(f"simkit md: error: {thermo}: ") and expected in shown[0], shown[0]
