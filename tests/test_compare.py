"""``posebench compare``: exit codes, noise handling, signatures, output formats."""

from __future__ import annotations

import json
import math
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from posebench.cli.main import main
from posebench.compare import compare_runs
from posebench.runner import RunOptions, run


def _jitter(root: Path, name: str, **args: str) -> Path:
    base = {"noise": "0.03", "miss": "0.1", "false_positives": "0.5"}
    opts = RunOptions(
        adapter="jitter",
        suite="demo",
        output=root / name,
        n_boot=200,
        adapter_args={**base, **args},
    )
    return run(opts)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    return {
        "base": _jitter(root, "base"),
        "same": _jitter(root, "same"),
        "noise": _jitter(root, "noise", seed="1"),  # a pure-noise change: other random draws
        "worse": _jitter(root, "worse", noise="0.06"),  # a real drop
    }


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["compare", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_identical_runs_pass_with_zero_delta(runs: dict[str, Path]) -> None:
    res = compare_runs(runs["base"], runs["same"], max_change={"AP": 0.0})
    assert [c.status for c in res.checks] == ["ok", "ok"]
    assert all(c.delta == 0 and c.paired for c in res.checks)


def test_pure_noise_passes_and_a_real_drop_fails(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _cli(capsys, str(runs["base"]), str(runs["noise"]))
    assert code == 0, out
    noise = compare_runs(runs["base"], runs["noise"]).checks[0]
    assert noise.delta != 0  # the numbers did move...
    assert noise.low <= 0 <= noise.high or noise.status == "improved"  # ...within the noise
    code, out, _ = _cli(capsys, str(runs["base"]), str(runs["worse"]))
    assert code == 1
    assert "| demo | clean | oks:AP |" in out
    assert "**REGRESSION**" in out
    worse = compare_runs(runs["base"], runs["worse"]).checks[0]
    assert worse.delta < -0.05
    assert worse.high < 0


def test_a_drop_within_its_tolerance_passes(runs: dict[str, Path]) -> None:
    res = compare_runs(runs["base"], runs["worse"], max_drop={"oks:AP": 50})
    assert [c.status for c in res.checks] == ["ok"]
    res = compare_runs(runs["base"], runs["worse"], max_drop={"AP": 50, "AP50": 0.0})
    assert [(c.stat, c.status) for c in res.checks] == [("AP", "ok"), ("AP50", "regression")]


def test_max_change_fails_on_any_change(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _cli(capsys, str(runs["base"]), str(runs["noise"]), "--max-change", "AP=0")
    assert code == 1
    assert "**CHANGED**" in out


def test_without_match_records_the_runs_own_intervals_are_used(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for src, dst in ((runs["base"], a), (runs["worse"], b)):
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("matches", "cache"))
    check = compare_runs(a, b).checks[0]
    assert not check.paired
    assert check.status == "regression"
    assert check.low < check.delta < check.high


def test_signatures_that_differ_are_refused(
    tmp_path: Path, runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    td = run(
        RunOptions(
            adapter="oracle",
            suite="demo",
            output=tmp_path / "td",
            n_boot=0,
            adapter_args={"top_down": "true"},
        )
    )
    code, _, err = _cli(capsys, str(runs["base"]), str(td))
    assert code == 2
    assert "signatures differ (boxes: none vs gt: a top-down run on GT person boxes" in err
    assert "--boxes detector" in err  # the way forward


def test_runs_of_different_images_are_refused(
    tmp_path: Path, runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    small = run(
        RunOptions(
            adapter="jitter",
            suite="demo",
            output=tmp_path / "s",
            n_boot=0,
            limit=10,
            adapter_args={"noise": "0.03"},
        )
    )
    code, _, err = _cli(capsys, str(runs["base"]), str(small))
    assert code == 2
    assert "images" in err
    code, _, err = _cli(capsys, str(runs["base"]), str(tmp_path / "nowhere"))
    assert code == 2
    assert "results.json" in err


def test_junit_has_one_case_per_check(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "c.xml"
    code, _, _ = _cli(
        capsys,
        str(runs["base"]),
        str(runs["worse"]),
        "--max-drop",
        "AP75=1",
        "--format",
        "junit",
        "--output",
        str(out),
    )
    assert code == 1
    suite = ET.parse(out).getroot()
    cases = suite.findall("testcase")
    assert suite.get("tests") == "2"
    assert suite.get("failures") == "2"
    assert len(cases) == 2
    assert all(c.find("failure") is not None for c in cases)


def test_github_writes_the_job_summary_and_error_lines(
    runs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, _ = _cli(capsys, str(runs["base"]), str(runs["worse"]), "--format", "github")
    assert code == 1
    assert "| Suite | Condition | Metric | Base | New | Δ | CI | Status |" in summary.read_text()
    assert out.count("::error title=posebench regression::") == 1
    code, out, _ = _cli(capsys, str(runs["base"]), str(runs["same"]), "--format", "json")
    assert code == 0
    assert json.loads(out)["failed"] == 0


def test_bad_tolerances_are_usage_errors(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _cli(capsys, str(runs["base"]), str(runs["same"]), "--max-drop", "AP")
    assert code == 2
    assert "--max-drop" in err


# ---------------------------------------------------------------- units and unusable input


def _edited(src: Path, dst: Path, edit: object) -> Path:
    """A copy of a run's results.json alone (no match records), edited by ``edit(doc)``."""
    dst.mkdir(parents=True)
    doc = json.loads((src / "results.json").read_text())
    edit(doc)  # type: ignore[operator]
    (dst / "results.json").write_text(json.dumps(doc))
    return dst


def _set_ap(value: object, *, no_ci: bool = True) -> object:
    def edit(doc: dict) -> None:
        blk = doc["conditions"]["clean"]["metrics"]["oks"]
        blk["values"]["AP"] = value
        if no_ci:
            blk.pop("ci", None)

    return edit


def test_tolerance_ap_1_is_one_point_fails_2_points_passes_half(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _edited(runs["base"], tmp_path / "base", _set_ap(0.60))
    drop2 = _edited(runs["base"], tmp_path / "drop2", _set_ap(0.58))
    drop05 = _edited(runs["base"], tmp_path / "drop05", _set_ap(0.595))
    code, out, _ = _cli(capsys, str(base), str(drop2), "--max-drop", "AP=1")
    assert code == 1, out
    assert "| 60.00% | 58.00% | -2.00 pt | n/a | **REGRESSION** (tol 1.00 pt) |" in out
    code, out, _ = _cli(capsys, str(base), str(drop05), "--max-drop", "AP=1")
    assert code == 0, out
    assert "| 60.00% | 59.50% | -0.50 pt | n/a | ok (tol 1.00 pt) |" in out
    # the same in the two-sided form .ci/run uses
    code, out, _ = _cli(capsys, str(base), str(drop2), "--max-change", "AP=1")
    assert code == 1
    assert "**CHANGED** (tol 1.00 pt, two-sided)" in out
    # the trap: AP=70 is 70 points now, printed as such
    code, out, _ = _cli(capsys, str(base), str(drop2), "--max-drop", "AP=70")
    assert code == 0
    assert "tol 70.00 pt" in out


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--max-drop", "AP=-1", "finite number >= 0"),
        ("--max-drop", "AP=nan", "finite number >= 0"),
        ("--max-change", "AP=inf", "finite number >= 0"),
        ("--max-drop", "AP=150", "is a percentage; a tolerance of 150 points cannot be meant"),
        ("--max-change", "AP50=101", "cannot be meant"),
        ("--max-drop", "APP=1", "'APP' ... matches no statistic"),
        ("--max-change", "pckh:PCKh=1", "matches no statistic"),
    ],
)
def test_tolerances_that_cannot_be_meant_are_refused(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str], flag: str, value: str, message: str
) -> None:
    code, out, err = _cli(capsys, str(runs["base"]), str(runs["same"]), flag, value)
    assert code == 2, out
    assert flag in err
    for part in message.split(" ... "):
        assert part.strip("'") in err, err


BROKEN = {
    "null AP": (_set_ap(None), "values.AP", "is null, not a number"),
    "NaN AP": (_set_ap(float("nan")), "values.AP", "is nan"),
    # the run-folder reader refuses a wrongly typed value first ("expected a number or null,
    # got str"); the gate's own check says "is str, not a number": either names the type
    "string AP": (_set_ap("0.5"), "values.AP", "str"),
    "missing AP": (
        lambda d: d["conditions"]["clean"]["metrics"]["oks"]["values"].pop("AP"),
        "values.AP",
        "AP is missing",
    ),
    "empty values": (
        lambda d: d["conditions"]["clean"]["metrics"]["oks"].update(values={}),
        "values",
        "is empty",
    ),
    "no metrics": (lambda d: d["conditions"]["clean"].update(metrics={}), "metrics", "is empty"),
    "empty conditions": (lambda d: d.update(conditions={}), "conditions", "is empty"),
    "conditions null": (lambda d: d.update(conditions=None), "conditions", "got null"),
    "metric gone": (
        lambda d: d["conditions"]["clean"].update(
            metrics={"pck@0.2/bbox": d["conditions"]["clean"]["metrics"]["oks"]}
        ),
        "oks",
        "missing from the new run",
    ),
}


@pytest.mark.parametrize(
    ("case", "which"),
    [(c, w) for c in BROKEN for w in ("new", "base") if (c, w) != ("metric gone", "base")],
)
def test_a_missing_or_undefined_headline_number_fails_the_gate(
    runs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    which: str,
) -> None:
    edit, fld, message = BROKEN[case]
    broken = _edited(runs["base"], tmp_path / "broken", edit)
    a, b = (runs["base"], broken) if which == "new" else (broken, runs["base"])
    # .ci/run's own flags: the two-sided check must not turn a broken run into a pass
    code, out, err = _cli(
        capsys, str(a), str(b), "--max-change", "AP=0.2", "--max-change", "AP50=0.2"
    )
    assert code == 2, out
    assert str(broken / "results.json") in err  # the run
    assert repr(fld) in err or f"field {fld!r}" in err or fld in err
    assert message in err
    if case not in ("empty conditions", "conditions null", "no metrics"):
        assert "clean" in err  # the condition
        assert "oks" in err  # the metric


def test_units_beside_every_number_in_every_format(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = str(runs["base"]), str(runs["worse"])
    code, out, _ = _cli(capsys, a, b, "--max-drop", "AP=1")
    assert code == 1
    row = next(line for line in out.splitlines() if "oks:AP" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3].endswith("%")
    assert cells[4].endswith("%")
    assert cells[5].endswith(" pt")  # delta
    assert cells[6].count(" pt") == 2  # interval
    assert "(tol 1.00 pt)" in cells[7]
    assert "image sampling only" in out
    assert "pt = percentage points" in out
    code, out, _ = _cli(capsys, a, b, "--max-drop", "AP=1", "--format", "json")
    doc = json.loads(out)
    check = doc["checks"][0]
    assert (check["unit"], check["delta_unit"]) == ("%", "pt")
    assert check["tolerance"] == pytest.approx(1.0)
    raw = json.loads((runs["base"] / "results.json").read_text())
    assert check["base"] == pytest.approx(
        100 * raw["conditions"]["clean"]["metrics"]["oks"]["values"]["AP"]
    )
    assert "image sampling only" in doc["controls"]
    xml = tmp_path / "c.xml"
    _cli(capsys, a, b, "--max-drop", "AP=1", "--format", "junit", "--output", str(xml))
    case = ET.parse(xml).getroot().find("testcase")
    assert case is not None
    failure = case.find("failure")
    assert failure is not None
    msg = failure.get("message") or ""
    assert "% -> " in msg
    assert " pt" in msg
    assert "tol 1.00 pt" in msg
    code, out, _ = _cli(capsys, a, b, "--max-drop", "AP=1", "--format", "github")
    err_line = next(line for line in out.splitlines() if line.startswith("::error"))
    assert "%25 -> " in err_line
    assert " pt" in err_line


def test_detector_boxes_beside_bottom_up_are_compared(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    def to_detector(doc: dict) -> None:
        blk = doc["conditions"]["clean"]["metrics"]["oks"]
        blk["signature"] = blk["signature"].replace("boxes:none", "boxes:detector")

    det = _edited(runs["base"], tmp_path / "det", to_detector)
    res = compare_runs(runs["base"], det)
    assert [c.status for c in res.checks] == ["ok"]


def test_box_protocol_rules() -> None:
    from posebench.compare import box_protocol_problem

    assert box_protocol_problem("detector", "none") is None
    assert box_protocol_problem("none", "file") is None
    why = box_protocol_problem("gt", "none")
    assert why is not None
    assert "bottom-up" in why
    assert "--boxes detector" in why
    why = box_protocol_problem("detector", "gt")
    assert why is not None
    assert "detector boxes" in why


def test_baseline_runs_must_be_other_runs(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, c = str(runs["base"]), str(runs["noise"]), str(runs["same"])
    for extra, word in (([a], "is BASE"), ([b], "is NEW"), ([c, c], "given twice")):
        code, _, err = _cli(capsys, a, b, "--baseline-runs", *extra)
        assert code == 2
        assert word in err
        assert "--baseline-runs" in err


@pytest.mark.parametrize("ci", ["x", {"AP": "x"}, {"AP": {"std": "nan"}}, {"AP": {"std": None}}])
def test_malformed_intervals_are_ignored_not_a_traceback(
    runs: dict[str, Path], tmp_path: Path, ci: object
) -> None:
    def edit(doc: dict) -> None:
        doc["conditions"]["clean"]["metrics"]["oks"]["ci"] = ci

    a = _edited(runs["base"], tmp_path / "a", edit)
    b = _edited(runs["worse"], tmp_path / "b", lambda d: None)
    check = compare_runs(a, b).checks[0]
    assert not check.paired
    assert math.isnan(check.low)  # no usable interval: the tolerance alone decides
    assert check.status == "regression"
