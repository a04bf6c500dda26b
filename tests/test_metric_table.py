"""The metric table: one declaration per metric, read by suites, ``ls metrics`` and the runner."""

from __future__ import annotations

import inspect
import json

import pytest

from posebench.cli.main import main
from posebench.errors import InputError
from posebench.evaluate import metric_key
from posebench.metrics import table
from posebench.suite import METRIC_MODELS, METRICS


def test_every_suite_family_is_in_the_table() -> None:
    assert set(table.FAMILIES) == set(METRICS) == set(METRIC_MODELS)
    for fam in table.FAMILIES:
        rows = table.family_rows(fam)
        assert rows, fam
        # a family's rows agree on direction and data
        assert len({(r.higher_is_better, r.dims, r.persons) for r in rows}) == 1


@pytest.mark.parametrize("name", list(table.METRIC_TABLE))
def test_functions_resolve_and_take_the_declared_arguments(name: str) -> None:
    m = table.get(name)
    fn = m.resolve()
    params = list(inspect.signature(fn).parameters)
    assert tuple(params[: len(m.argument_order)]) == m.argument_order
    assert m.headline in m.statistics
    if m.stateful is not None:
        cls = m.resolve_stateful()
        assert cls.higher_is_better is m.higher_is_better
        for method in ("update", "compute", "reset", "merge", "sync"):
            assert callable(getattr(cls, method))
        # the class computes the rows that name it (the table, not the class, spells them)
        rows = [r.name for r in table.METRIC_TABLE.values() if r.stateful == m.stateful]
        assert cls.metric == rows[0]


def test_suite_entries_pick_rows() -> None:
    assert table.for_suite_entry({"name": "oks"}).name == "oks-coco"
    assert table.for_suite_entry({"name": "oks", "mode": "crowdpose"}).name == "oks-crowdpose"
    assert table.for_suite_entry({"name": "mpjpe"}).name == "mpjpe"
    assert table.for_suite_entry({"name": "mpjpe", "align": "none"}).headline == "MPJPE-abs"
    assert table.for_suite_entry({"name": "pckh"}).defaults["threshold"] == 0.5
    # the results keys the runner writes keep their defaults (read from the table)
    assert metric_key({"name": "pckh"}) == "pckh@0.5"
    assert metric_key({"name": "pcp"}) == "pcp@0.5"
    assert metric_key({"name": "pck"}) == "pck@0.2/bbox"
    assert metric_key({"name": "pdj"}) == "pdj@0.2"
    with pytest.raises(InputError, match="unknown metric 'okz'"):
        table.for_suite_entry({"name": "okz"})


def test_results_keys_pick_rows() -> None:
    keys = {"oks": "oks-coco", "oks/crowdpose": "oks-crowdpose", "pckh@0.5": "pckh",
            "pck@0.2/torso": "pck", "pcp@0.5": "pcp", "pdj@0.2": "pdj", "mpjpe": "mpjpe",
            "mpjpe/none": "mpjpe-abs", "mpjpe/procrustes": "pa-mpjpe",
            "keypoints/occluded": "keypoints-occluded"}  # fmt: skip
    assert {k: table.for_results_key(k).name for k in keys} == keys


def test_unknown_name_says_did_you_mean() -> None:
    with pytest.raises(InputError, match="did you mean 'oks-coco'"):
        table.get("oks-cocoo")


def test_format() -> None:
    assert table.get("oks-coco").format(0.71234) == "71.2"
    assert table.get("pckh").format(90.04) == "90.0"
    assert table.get("mpjpe").format(float("nan")) == "n/a"
    assert table.get("mpjpe").format(52.123) == "52.12 mm"


def test_ls_metrics_lists_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls", "metrics", "--format", "json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["metrics"]}
    assert list(rows) == list(table.METRIC_TABLE)
    assert rows["oks-crowdpose"]["suite"] == {"name": "oks", "mode": "crowdpose"}
    assert rows["pa-mpjpe"]["suite"] == {"name": "mpjpe", "align": "procrustes"}
    assert rows["pa-mpjpe"]["higher_is_better"] is False
    assert rows["pa-mpjpe"]["datasets"] == ["h36m-test"]
    assert rows["pckh"]["datasets"] == ["mpii-val"]
    assert rows["oks-wholebody"]["suite"] is None


def test_every_library_package_is_installed() -> None:
    """A subpackage missing from pyproject's explicit list would vanish after ``pip install .``."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    listed = set(
        tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(root).parts)
        for p in (root / "posebench").rglob("__init__.py")
        if "data" not in p.parent.relative_to(root / "posebench").parts[:1]
    }
    assert found - listed == set()


def test_directions_agree_with_the_robustness_families() -> None:
    """The metric table and posebench.robustness.FAMILIES (the robustness summaries' per-family
    headline and direction) must never disagree on a family's direction."""
    from posebench.metrics import table
    from posebench.robustness import FAMILIES

    for fam in table.FAMILIES:
        if fam in FAMILIES:
            assert table.family_info(fam)[1] == FAMILIES[fam].higher_is_better, fam


@pytest.mark.parametrize("name", list(table.METRIC_TABLE))
def test_what_compare_report_and_score_read_is_consistent(name: str) -> None:
    """The row facts other modules read: scorer and OKS parameter maker resolve, the summary kind
    agrees with the direction, the gated statistic is one the metric reports."""
    m = table.get(name)
    assert (m.score_name is None) is (m.scorer is None)
    if m.scorer is not None:
        assert callable(m.resolve_scorer())
        assert m.score_name in table.score_choices()
    if m.batch is not None:
        assert callable(m.resolve_batch())
    else:  # only a run computes it
        with pytest.raises(InputError, match="computed inside a run"):
            m.resolve_batch()
    assert set(m.file_statistics) <= set(m.statistics)
    assert m.robustness == ("accuracy" if m.higher_is_better else "error")
    assert (m.gate_statistic or m.headline) in m.statistics
    for key in m.result_keys:
        assert table.row_for_key(key) is m
        assert table.row_for_key(f"{key}@0.5") is m
    assert (m.params is not None) is (m.records == "matches")
    if m.params is not None:
        from posebench.skeletons import SKELETONS

        params = m.resolve_params()(SKELETONS[m.defaults["sigmas"]].oks_sigmas())
        # COCO scales by segment area, CrowdPose (xtcocotools use_area=False) by the GT box
        assert params.use_area is (m.options["mode"] == "coco")


def test_streaming_instances_name_their_rows() -> None:
    from posebench.metrics import stateful

    assert stateful.OKSAveragePrecision(mode="crowdpose").metric == "oks-crowdpose"
    assert stateful.MPJPE(root=None).metric == "mpjpe-abs"
    assert stateful.MPJPE().metric == "mpjpe"


def test_results_keys_are_unique_and_unknown_keys_have_no_row() -> None:
    keys = [k for m in table.METRIC_TABLE.values() for k in m.result_keys]
    assert len(keys) == len(set(keys))
    assert table.row_for_key("nope@1") is None
    with pytest.raises(InputError, match="unknown metric key 'nope@1'"):
        table.for_results_key("nope@1")
    # a variant no row lists falls back to its family's first row (as robustness always did)
    assert table.row_for_key("mpjpe/other").name == "mpjpe"
    assert table.headline_candidates("mpjpe/procrustes")[0] == "PA-MPJPE"
    assert table.for_score_name("oks", {"mode": "crowdpose"}).name == "oks-crowdpose"
    assert table.for_score_name("oks", {"mode": "coco"}).name == "oks-coco"
    # `posebench score --metric`'s choices, in the order they had before the table held them
    assert table.score_choices() == ("oks", "wholebody", "pckh", "pck", "pcp", "pdj", "mpjpe")
