"""The runner: oracle and jitter calibration, kill-and-resume, shards, bad arguments."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from posebench.cli.main import main
from posebench.results import read_results_json, read_samples
from posebench.runner import RunOptions, merge, run

REPO = Path(__file__).resolve().parent.parent


def _run(tmp: Path, name: str, adapter: str = "jitter", **kw: object) -> dict:
    opts = RunOptions(
        adapter=adapter,
        suite=kw.pop("suite", "demo"),
        output=tmp / name,
        n_boot=kw.pop("n_boot", 0),
        **kw,
    )  # type: ignore[arg-type]
    return read_results_json(run(opts))


def _values(res: dict) -> dict:
    return {k: c["metrics"] for k, c in res["conditions"].items()}


def test_oracle_scores_one(tmp_path: Path) -> None:
    res = _run(tmp_path, "oracle", adapter="oracle")
    oks = res["conditions"]["clean"]["metrics"]["oks"]["values"]
    assert oks["AP"] == 1.0
    assert oks["AR"] == 1.0
    assert res["box_source"] == "none"


def test_oracle_top_down_with_gt_boxes_scores_one(tmp_path: Path) -> None:
    res = _run(tmp_path, "oracle-td", adapter="oracle", adapter_args={"top_down": "true"})
    assert res["conditions"]["clean"]["metrics"]["oks"]["values"]["AP"] == 1.0
    assert res["box_source"] == "gt"


def test_jitter_ap_falls_as_noise_rises(tmp_path: Path) -> None:
    aps = []
    for noise in ("0.01", "0.05", "0.15", "0.4"):
        res = _run(tmp_path, f"j{noise}", adapter_args={"noise": noise})
        aps.append(res["conditions"]["clean"]["metrics"]["oks"]["values"]["AP"])
    assert all(a > b for a, b in itertools.pairwise(aps)), aps
    assert aps[0] > 0.9, aps
    assert aps[-1] < 0.2, aps


def test_results_json_and_samples(tmp_path: Path) -> None:
    res = _run(tmp_path, "r", n_boot=50)
    for key in (
        "schema",
        "created",
        "posebench",
        "versions",
        "adapter",
        "suite",
        "dataset",
        "conditions",
        "timings",
        "throughput",
        "seed",
    ):
        assert key in res
    assert res["adapter"]["info"]["name"] == "jitter"
    block = res["conditions"]["clean"]["metrics"]["oks"]
    ci = block["ci"]["AP"]
    assert ci["low"] <= block["values"]["AP"] <= ci["high"]
    assert block["signature"].startswith("oks|mode:coco|sigmas:coco17")
    assert set(block["per_joint"]) >= {"nose", "left_ankle"}
    samples = read_samples(tmp_path / "r" / "samples.parquet")
    assert len(samples["image_id"]) == res["dataset"]["images"]
    assert (samples["condition"] == "clean").all()
    assert np.nanmax(samples["oks.mean_oks"]) <= 1.0


def _cli_run(
    out: Path, log: Path, die_after: int = 0, batch: int = 4
) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "posebench",
        "run",
        "--adapter",
        "tests.fake_adapters:CountingJitter",
        "--suite",
        "demo",
        "--output",
        str(out),
        "--batch-size",
        str(batch),
        "--ci",
        "100",
        "--format",
        "json",
    ]
    env = {**os.environ, "FAKE_ADAPTER_LOG": str(log), "FAKE_ADAPTER_DIE_AFTER": str(die_after)}
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300, env=env)


def test_killed_run_resumes_with_identical_numbers(tmp_path: Path) -> None:
    full = _cli_run(tmp_path / "full", tmp_path / "full.log")
    assert full.returncode == 0, full.stderr
    n_batches = len((tmp_path / "full.log").read_text().splitlines())
    killed = _cli_run(tmp_path / "resumed", tmp_path / "first.log", die_after=3)
    assert killed.returncode == 137
    assert len((tmp_path / "first.log").read_text().splitlines()) == 2
    assert not (tmp_path / "resumed" / "results.json").exists()
    again = _cli_run(tmp_path / "resumed", tmp_path / "second.log")
    assert again.returncode == 0, again.stderr
    redone = (tmp_path / "second.log").read_text().splitlines()
    assert len(redone) == n_batches - 2  # the two finished batches were not predicted again
    a, b = json.loads(full.stdout), json.loads(again.stdout)
    assert _values(a) == _values(b)
    assert b["throughput"]["predicted_images"] < a["throughput"]["predicted_images"]


def test_interrupted_in_process_leaves_no_partial_batch(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, "x", batch_size=3, max_batches=2)
    files = sorted((tmp_path / "x" / "cache").rglob("*.unit"))
    assert len(files) == 2
    assert not list((tmp_path / "x" / "cache").rglob("*.tmp"))


def test_shards_merged_equal_one_pass(tmp_path: Path) -> None:
    one = _run(tmp_path, "one", n_boot=200, adapter_args={"false_positives": "1", "miss": "0.1"})
    parts = [tmp_path / f"s{i}" for i in (1, 2, 3)]
    for i, p in enumerate(parts):
        run(
            RunOptions(
                adapter="jitter",
                suite="demo",
                output=p,
                shard=(i, 3),
                n_boot=200,
                adapter_args={"false_positives": "1", "miss": "0.1"},
            )
        )
    shard_imgs = [read_results_json(p)["dataset"]["images"] for p in parts]
    assert sum(shard_imgs) == one["dataset"]["images"]
    assert min(shard_imgs) > 0
    merged = read_results_json(merge(parts, tmp_path / "merged"))
    assert _values(merged) == _values(one)
    with pytest.raises(Exception, match="missing"):
        merge(parts[:2], tmp_path / "bad")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--adapter", "jiter"], "did you mean 'jitter'"),
        (["--adapter", "jitter", "--adapter-arg", "nosie=0.1"], "did you mean 'noise'"),
        (
            ["--adapter", "jitter", "--adapter-arg", "noise=lots"],
            "noise='lots' is not a valid float",
        ),
        (["--adapter", "jitter", "--adapter-arg", "noise"], "expected KEY=VALUE"),
        (["--adapter", "jitter", "--adapter-arg", "noise=-1"], "noise=-1.0 outside"),
        (["--adapter", "tests.fake_adapters:NotAnAdapter"], "does not implement the predict API"),
        (["--adapter", "tests.nowhere:X"], "cannot import"),
        (["--adapter", "jitter", "--shard", "4/3"], "shard 4 of 3"),
        (["--adapter", "jitter", "--suite", "no-such-suite"], "no-such-suite"),
    ],
)
def test_bad_arguments_exit_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    argv = ["run", "--suite", "demo", "--output", str(tmp_path / "o"), *args]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
