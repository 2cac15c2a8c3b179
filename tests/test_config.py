"""Config loading: strict YAML, unknown keys refused, one-line errors naming file and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simkit.config import load_config
from simkit.drivers.md.protocol import MdProtocol
from simkit.errors import ConfigError
from tests.conftest import run_cli

GOOD = """\
output_dir: out
structure: {bulk: {element: Si, crystal: diamond, a_A: 5.431, cubic: true}}
potential: {kind: snap, coeff: lammps:Si_Zuo_JPCA2020.snapcoeff, param: lammps:Si_Zuo_JPCA2020.snapparam}
stages:
  - {stage: velocity, temperature_K: 300}
  - {stage: nvt, duration_ps: 0.01, temperature_K: 300}
"""


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_good_config_resolves_paths_relative_to_file(tmp_path, lammps_potentials):
    sub = tmp_path / "sub"
    sub.mkdir()
    protocol = load_config(MdProtocol, write(sub, GOOD))
    assert protocol.output_dir == sub / "out"
    assert protocol.potential.coeff == lammps_potentials / "Si_Zuo_JPCA2020.snapcoeff"
    assert protocol.stages[1].temperature_K == 300


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda t: t + "bogus_key: 1\n", "unknown key 'bogus_key'"),
        (lambda t: t.replace("temperature_K: 300}\n  - {stage: nvt", "temperature_K: -5}\n  - {stage: nvt"),
         "key 'stages[0].temperature_K' = -5: Input should be greater than 0"),
        (lambda t: t.replace("stage: velocity", "stage: teleport"), "key 'stages[0]'"),
        (lambda t: t.replace("duration_ps: 0.01", "duration_ps: fast"), "key 'stages[1].duration_ps' = 'fast'"),
        (lambda t: t.replace("output_dir: out\n", ""), "missing required key 'output_dir'"),
        (lambda t: t + "output_dir: again\n", "duplicate key 'output_dir'"),
        (lambda t: t.replace("stages:", "stages: [oops"), "invalid YAML at line"),
        (lambda t: t.replace("Si_Zuo_JPCA2020.snapcoeff", "nonexistent.snapcoeff"),
         "key 'potential.coeff' = 'lammps:nonexistent.snapcoeff': file not found"),
    ],
)
def test_bad_configs_name_file_and_key(tmp_path, edit, expected):
    path = write(tmp_path, edit(GOOD))
    with pytest.raises(ConfigError) as info:
        load_config(MdProtocol, path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert expected in message, message
    assert "\n" not in message


def test_unknown_stage_names_allowed_kinds(tmp_path):
    with pytest.raises(ConfigError, match="'velocity', 'minimise', 'nvt', 'npt', 'nve'"):
        load_config(MdProtocol, write(tmp_path, GOOD.replace("stage: velocity", "stage: teleport")))


def test_cli_prints_one_line_without_traceback(tmp_path):
    bad = write(tmp_path, GOOD + "bogus_key: 1\n")
    result = run_cli("md", str(bad))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("simkit md: error:") and "unknown key 'bogus_key'" in lines[0]
    assert "Traceback" not in result.stderr


def test_cli_missing_potential_file_one_line(tmp_path):
    bad = write(tmp_path, GOOD.replace("lammps:Si_Zuo_JPCA2020.snapparam", "missing/Si.snapparam"))
    result = run_cli("md", str(bad))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "key 'potential.param'" in lines[0] and "file not found" in lines[0]
    assert str(tmp_path / "missing" / "Si.snapparam") in lines[0]


def test_cli_traceback_flag_shows_traceback(tmp_path):
    bad = write(tmp_path, GOOD + "bogus_key: 1\n")
    result = run_cli("--traceback", "md", str(bad))
    assert result.returncode == 2
    assert "Traceback" in result.stderr


def test_missing_config_file(tmp_path):
    result = run_cli("md", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert "nope.yaml: config file not found" in result.stderr


@pytest.mark.parametrize(
    "override, expected",
    [
        ("snap.twojmax=[", "--set snap.twojmax: value '[' is not valid YAML"),
        ("snap.twojmax", "--set 'snap.twojmax': expected KEY=VALUE"),
    ],
)
def test_cli_malformed_set_override_is_one_line_naming_the_key(tmp_path, override, expected):
    config = write(tmp_path, "backend: snap\n")
    result = run_cli("fit", str(config), "--set", override)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("simkit fit: error:"), result.stderr
    assert expected in lines[0], result.stderr


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda t: t.replace("duration_ps: 0.01", "duration_ps: .inf"),
         "key 'stages[1].duration_ps' = inf: Input should be a finite number"),
        (lambda t: t.replace("temperature_K: 300}\n  - {stage: nvt", "temperature_K: .nan}\n  - {stage: nvt"),
         "key 'stages[0].temperature_K' = nan: Input should be a finite number"),
        (lambda t: t.replace("a_A: 5.431", "a_A: -.inf"), "key 'structure.bulk.a_A' = -inf"),
    ],
)
def test_non_finite_numbers_are_refused_by_key(tmp_path, edit, expected):
    path = write(tmp_path, edit(GOOD))
    with pytest.raises(ConfigError, match=re.escape(f"{path}: {expected}")):
        load_config(MdProtocol, path)


def test_non_finite_numbers_are_refused_inside_lists(tmp_path):
    from simkit.diffusion.config import DiffusionConfig

    example = Path(__file__).resolve().parents[1] / "inputs" / "diffusion_cu_liquid.yaml"
    text = example.read_text().replace("temperatures_K: [1400, 1600, 1800, 2000]", "temperatures_K: [1400, .nan]")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=re.escape("key 'temperatures_K[1]' = nan: Input should be a finite")):
        load_config(DiffusionConfig, path)


def test_every_schema_refuses_non_finite_floats():
    # Guards the default for schemas added later: none may switch it off wholesale
    # (a key that needs inf/nan opts in with Field(allow_inf_nan=True)).
    import importlib
    import pkgutil

    import simkit
    from simkit.config.schema import Schema

    for module in pkgutil.walk_packages(simkit.__path__, "simkit."):
        importlib.import_module(module.name)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    for schema in subclasses(Schema):
        assert schema.model_config.get("allow_inf_nan") is False, schema
