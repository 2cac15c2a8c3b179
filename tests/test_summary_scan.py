"""The check conftest.py runs over every test's summaries finds what it is meant to find."""

import json

from tests.summary_scan import scan_file, scan_tree


def test_undefined_quantities_reported_as_numbers_are_found(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "diffusion.json").write_text(json.dumps({
        "species": {"Cu": {"collective": {"D_A2_per_ps": 1.2e-26, "haven_ratio": 5.6e25, "chi2_per_dof": float("nan")},
                           "tracer": {"D_A2_per_ps": 0.7, "ci95_A2_per_ps": [0.6, 0.8], "n": 0}}},
        "conductivity": {"value_S_per_cm": float("inf"), "undefined": None},
        "seed": 2**62, "flag": True,
    }))
    found = scan_tree(tmp_path)
    assert len(found) == 4
    assert any("collective.D_A2_per_ps = 1.2e-26" in line for line in found)
    assert any("collective.haven_ratio = 5.6e+25" in line for line in found)
    assert any("chi2_per_dof = nan" in line for line in found)
    assert any("value_S_per_cm = inf" in line for line in found)
    (tmp_path / "run" / "diffusion.json").unlink()  # conftest scans every test's folder afterwards


def test_defined_values_nulls_and_non_summaries_pass(tmp_path):
    good = tmp_path / "summary.json"
    good.write_text(json.dumps({"D_cm2_per_s": 2.3e-5, "haven_ratio": None, "haven_ratio_undefined": "one species",
                                "zero": 0.0, "seed": 2**63 - 1, "energies_eV": [-3.54, 1e-12]}))
    assert scan_file(good) == []
    (tmp_path / "broken.json").write_text("{not json")  # tests write corrupt files on purpose
    assert scan_tree(tmp_path) == []
