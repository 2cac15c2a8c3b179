"""Every command refuses a bad YAML config with exit code 2 and one line naming the file and the key.

The corpus (tests/fuzz/config_corpus.py) mutates each example in inputs/: a
required key deleted, an unknown key, wrong types, non-finite and out-of-range
numbers, unknown enum values, missing files, duplicate keys, bytes that are not
UTF-8, empty files, deep nesting, alias bombs, a list or a scalar instead of a
mapping, binary garbage. A case first goes through the loader the command
calls before any work; only when that refuses it does the command itself run
(in this process), so no workload ever starts.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from simkit.errors import ConfigError
from tests.fuzz import config_corpus
from tests.fuzz.harness import Verdict, check, record, run_in_process

CASES = config_corpus.all_cases()


def _scratch(tmp_path: Path) -> Path:
    """A folder holding the data files the examples name (their paths are relative to the config)."""
    for path in config_corpus.INPUTS.iterdir():
        if path.is_file() and path.suffix != ".yaml":
            shutil.copy(path, tmp_path / path.name)
    return tmp_path


@pytest.mark.parametrize("example", config_corpus.examples(), ids=lambda p: p.stem)
def test_unmutated_example_passes_the_loader(example, tmp_path):
    # Every case below breaks exactly one thing of an example that is otherwise valid.
    config = _scratch(tmp_path) / "config.yaml"
    config.write_bytes(config_corpus.dump(config_corpus.example_data(example)))
    config_corpus.load_gate(example.stem.split("_", 1)[0], config, tmp_path)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_config_is_refused_in_one_line(case, tmp_path):
    config = _scratch(tmp_path) / "config.yaml"
    config.write_bytes(case.content)
    corpus = f"config/{case.command}"
    try:
        config_corpus.load_gate(case.command, config, tmp_path)
    except ConfigError:
        pass
    else:  # never run the command on a config that validates: it would start the real work
        record(corpus, Verdict("accepted by the loader"))
        pytest.fail(f"{case.id}: the loader accepted the mutated config")
    argv = config_corpus.COMMANDS[case.command].argv(config, tmp_path)
    check(corpus, run_in_process(argv), case.command, [str(config), *case.names])


@pytest.mark.parametrize(
    "stem, path, value",
    [pytest.param(stem, path, value, id=f"{stem}:{config_corpus.format_location(path)}={value:g}",
                  marks=[pytest.mark.xfail(strict=True, reason=f"reported, not fixed: {why}")] if why else [])
     for stem, path, value, why in config_corpus.UNBOUNDED],
)
def test_values_far_past_what_a_run_can_do_are_refused(stem, path, value, tmp_path):
    case = config_corpus.value_case(stem, path, value, "unbounded")
    config = _scratch(tmp_path) / "config.yaml"
    config.write_bytes(case.content)
    with pytest.raises(ConfigError, match=re.escape(case.names[0])):
        config_corpus.load_gate(case.command, config, tmp_path)
