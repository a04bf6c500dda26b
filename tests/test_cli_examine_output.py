"""``posebench examine`` says what it is doing and why it stopped (CLI output lines only)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from posebench.cli.examine import stop_reason, why_no_evidence
from posebench.cli.main import main


def test_stop_reason_names_budget_or_what_ended_the_search() -> None:
    assert stop_reason({"queries": 600, "budget": 600}) == "at the budget (600 queries)"
    done = stop_reason({"queries": 400, "budget": 600, "agents": 4, "successes": 4})
    assert done == (
        "200 queries under the budget: all 4 agents found a failure and grew its region"
    )
    short = stop_reason(
        {"queries": 48, "budget": 120, "agents": 2, "successes": 0, "config": {"max_iters": 3}}
    )
    assert short.startswith("72 queries under the budget: 0 of 2 agents found a failure")
    assert "within --max-iters 3 iterations" in short
    assert stop_reason({"queries": 5, "budget": 9, "stop_reason": "told so"}) == "told so"


@pytest.mark.slow
def test_examine_prints_progress_and_why_it_stopped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["examine", "--adapter", "jitter", "--adapter-arg", "noise=0.02", "--space",
         "pose,camera", "--budget", "120", "--size", "64", "--agents", "2", "--max-iters", "2",
         "--output", str(tmp_path / "ex"), "--progress", "always"]
    )  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    progress = [line for line in out.err.splitlines() if line.startswith("examine: ")]
    assert progress, out.err
    first = re.match(r"examine: (\d+)/120 queries \((\d+)%\), \d+ failing bodies, [\d.]+ s$",
                     progress[0])  # fmt: skip
    assert first is not None, progress[0]
    assert 12 <= int(first.group(1)) < 24  # printed once the first tenth is spent
    assert len(set(progress)) == len(progress)  # one line per tenth crossed, never repeated
    stopped = next(line for line in out.out.splitlines() if line.startswith("stopped"))
    assert "queries under the budget" in stopped
    assert "--max-iters 2" in stopped
    code = main(
        ["examine", "--adapter", "jitter", "--budget", "16", "--size", "64", "--agents", "2",
         "--max-iters", "1", "--output", str(tmp_path / "ex2"), "--progress", "never"]
    )  # fmt: skip
    assert code == 0
    assert "examine: " not in capsys.readouterr().err


def test_why_a_region_is_no_evidence_in_words() -> None:
    base = {"width": [0.1, 0.2], "region_verified_samples": 16, "region_failure_rate": 0.75}
    assert why_no_evidence(base, 0.9) == "75% of 16 verification samples fail, under 90%"
    assert why_no_evidence({**base, "width": [0.1, 0.0]}, 0.9) == (
        "a point, no region (zero width)"
    )
    assert why_no_evidence({**base, "region_verified_samples": 5}, 0.9) == (
        "5 scored verification samples, 8 needed"
    )
    assert why_no_evidence({**base, "region_failure_rate": float("nan")}, 0.9) == "not verified"
    assert why_no_evidence({**base, "evidence": True}, 0.9) == "evidence"
