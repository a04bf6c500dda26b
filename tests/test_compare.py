"""``posebench compare``: exit codes, noise handling, signatures, output formats."""

from __future__ import annotations

import json
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
