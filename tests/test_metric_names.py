"""A metric's name is spelled in the metric table and nowhere else.

1. An AST scan of every string constant in ``posebench/``: one that equals a metric name of the
   table (a row name, a suite family, a results key, a ``posebench score --metric`` choice) fails
   the test unless its module is on the allow-list below, with the reason it may. An entry of the
   allow-list that no longer matches anything fails too, so the list only shrinks.
2. A metric registered in the table (a fake row, monkeypatched in this process) appears in
   ``posebench ls metrics`` and ``posebench score --metric``, is scored by ``posebench score``,
   gated by ``posebench compare``, ranked and formatted by ``posebench report`` and summarised by
   the robustness summary, without touching any other module.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from posebench.cli.main import main
from posebench.metrics import table

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "posebench"
REPORT_RUN = Path(__file__).parent / "data" / "report" / "jitter-demo" / "results.json"

#: module -> (the names it may spell, why). ``keypoints`` (the family of ``keypoints/occluded``)
#: is not scanned for: it is also the COCO field of that name, everywhere in the formats.
ALLOWED: dict[str, tuple[frozenset[str], str]] = {
    "metrics/table.py": (frozenset(), "the table itself: every name, once"),
    "formats/coco_wholebody.py": (
        frozenset({"wholebody"}),
        "data format: the COCO-WholeBody part called wholebody and its score field",
    ),
    "metrics/cocoeval.py": (
        frozenset({"wholebody"}),
        "data format: xtcocotools' COCO-WholeBody part names",
    ),
    "datasets.py": (
        frozenset({"oks", "pckh", "pck", "mpjpe"}),
        "the dataset table: the suite family each dataset and each own-data format is scored by",
    ),
    "suite.py": (
        frozenset({"oks", "pckh", "pck", "pcp", "pdj", "mpjpe"}),
        "the suite-file schema (one pydantic model per family, its Literal name) and the default "
        "suite of each own-data format",
    ),
    "metrics/mpjpe.py": (frozenset({"mpjpe"}), "the name of the function itself (__all__)"),
    "metrics/mpjpe_torch.py": (frozenset({"mpjpe"}), "the name of the function itself"),
    "examiner/error.py": (
        frozenset({"oks", "mpjpe"}),
        "the examiner's own error measures (oks, normalized, mpjpe), not rows of the table",
    ),
    "examiner/env.py": (frozenset({"oks", "mpjpe"}), "the examiner's error measures"),
    "examiner/search.py": (frozenset({"oks", "mpjpe"}), "the examiner's error measures"),
    "report/examiner.py": (frozenset({"oks", "mpjpe"}), "labels of the examiner's error measures"),
    "cli/examine.py": (frozenset({"oks", "mpjpe"}), "--metric: the examiner's error measures"),
    "api.py": (
        frozenset({"oks-coco", "oks", "mpjpe"}),
        "score()'s documented default metric, and examine()'s error measures (the examiner's)",
    ),
}


def metric_names() -> frozenset[str]:
    """Every name the table gives a metric."""
    rows = table.METRIC_TABLE.values()
    return frozenset(
        {m.name for m in rows}
        | set(table.FAMILIES)
        | {k for m in rows for k in m.result_keys}
        | set(table.score_choices())
    )


def spelled_names(names: frozenset[str]) -> dict[str, dict[str, list[int]]]:
    """module (relative to posebench/) -> name -> lines where a string constant equals it."""
    out: dict[str, dict[str, list[int]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            s = node.value if isinstance(node, ast.Constant) else None
            if isinstance(s, str) and s in names:
                rel = path.relative_to(PACKAGE).as_posix()
                out.setdefault(rel, {}).setdefault(s, []).append(node.lineno)
    return out


def test_no_module_outside_the_allow_list_spells_a_metric_name() -> None:
    found = spelled_names(metric_names())
    bad = {
        f"posebench/{mod}:{line}: {name!r}"
        for mod, by_name in found.items()
        if mod != "metrics/table.py"
        for name, lines in by_name.items()
        if name not in ALLOWED.get(mod, (frozenset(), ""))[0]
        for line in lines
    }
    assert not bad, "read the metric table instead of spelling:\n" + "\n".join(sorted(bad))
    stale = {
        f"{mod}: {name}"
        for mod, (names, _) in ALLOWED.items()
        for name in names
        if name not in found.get(mod, {})
    }
    assert not stale, f"allow-list entries that match nothing (remove them): {sorted(stale)}"


def test_the_scan_catches_a_spelled_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The scan sees a plain comparison with a family name, and a name in a tuple."""
    pkg = tmp_path / "posebench"
    (pkg / "report").mkdir(parents=True)
    (pkg / "report" / "x.py").write_text(
        'def f(m):\n    return m == "pckh" or m in ("mpjpe/procrustes",)\n'
    )
    monkeypatch.setattr(f"{__name__}.PACKAGE", pkg)
    assert spelled_names(metric_names()) == {"report/x.py": {"pckh": [2], "mpjpe/procrustes": [2]}}


# ------------------------------------------------------------------------- a metric registered


def fake_hits(pred: np.ndarray, gt: np.ndarray, *, threshold: float = 5.0) -> dict[str, float]:
    """Percent of joints within ``threshold`` pixels: ``pred``, ``gt`` (N, K, 2)."""
    d = np.linalg.norm(np.asarray(pred) - np.asarray(gt), axis=-1)
    return {"HITS": float(100.0 * np.mean(d <= threshold))}


def score_fake_hits(args: argparse.Namespace, gt_path: str, pred_path: str) -> dict[str, Any]:
    """What ``posebench score --metric fake-hits`` runs: two .npy arrays in, the payload out."""
    gt, pred = np.load(gt_path), np.load(pred_path)
    thr = 5.0 if args.threshold is None else args.threshold
    values = table.get("fake-hits").resolve()(pred, gt, threshold=thr)
    return {
        "metrics": values,
        "signature": f"fake-hits|thr:{thr:g}",
        "counts": {"samples": len(gt)},
    }


FAKE = replace(
    table.get("pdj"),
    name="fake-hits",
    description="percent of joints within 5 px (a metric registered by a test)",
    family=None,
    options={},
    function=f"{__name__}:fake_hits",
    argument_order=("pred", "gt"),
    stateful=None,
    signature_parts=("thr",),
    headline="HITS",
    statistics=("HITS",),
    higher_is_better=True,
    unit="percent",
    defaults={"threshold": 5.0},
    result_keys=("fakehits",),
    records="none",
    score_name="fake-hits",
    scorer=f"{__name__}:score_fake_hits",
)


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(table.METRIC_TABLE, FAKE.name, FAKE)


def test_registered_metric_is_listed_and_scored(
    registered: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ls", "metrics", "--format", "json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["metrics"]}
    assert rows["fake-hits"]["headline"] == "HITS"
    assert rows["fake-hits"]["suite"] is None
    assert "fake-hits" in table.score_choices()
    rng = np.random.default_rng(0)
    gt = rng.uniform(0, 100, (20, 4, 2))
    pred = gt + rng.normal(0, 4, gt.shape)
    np.save(tmp_path / "gt.npy", gt)
    np.save(tmp_path / "pred.npy", pred)
    argv = ["score", "--metric", "fake-hits", "--gt", str(tmp_path / "gt.npy"),
            "--pred", str(tmp_path / "pred.npy")]  # fmt: skip
    assert main([*argv, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    want = 100.0 * np.mean(np.linalg.norm(pred - gt, axis=-1) <= 5.0)
    assert out["metrics"] == {"HITS": want}
    assert out["signature"] == "fake-hits|thr:5"
    assert main([*argv, "--threshold", "2"]) == 0
    text = capsys.readouterr().out
    assert f"{100.0 * np.mean(np.linalg.norm(pred - gt, axis=-1) <= 2.0):8.3f}" in text
    # an OKS-only flag is refused for it, naming the flag
    assert main([*argv, "--per-image", str(tmp_path / "x.csv")]) == 2
    assert "--per-image" in capsys.readouterr().err


def test_unregistered_metric_is_refused_by_score(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["score", "--metric", "fake-hits", "--gt", "a", "--pred", "b"])
    assert e.value.code == 2
    assert "invalid choice: 'fake-hits'" in capsys.readouterr().err


def _fake_run(folder: Path, hits: float, tag: str, stressed: float | None = None) -> Path:
    """A run folder whose one metric is ``fakehits@5`` (a report fixture, rewritten)."""
    res = json.loads(REPORT_RUN.read_text())
    res = copy.deepcopy(res)
    res["adapter"]["args"] = {"tag": tag}
    res["headline"] = "fakehits@5"
    block = {
        "values": {"HITS": hits},
        "ci": {},
        "signature": "fake-hits|thr:5|boxes:none|v:0.1.0",
        "higher_is_better": True,
        "per_joint": {},
        "breakdowns": {},
    }
    res["conditions"] = {"clean": {"kind": "clean", "name": "clean", "severity": 0,
                                   "metrics": {"fakehits@5": block}}}  # fmt: skip
    if stressed is not None:
        res["conditions"]["blur@3"] = {
            "kind": "corruption", "name": "motion_blur", "severity": 3,
            "metrics": {"fakehits@5": {**block, "values": {"HITS": stressed}}},
        }  # fmt: skip
    res["summary"] = {}
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps(res))
    return folder


def test_registered_metric_is_gated_by_compare(
    registered: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from posebench.compare import compare_runs

    base = _fake_run(tmp_path / "base", 61.0, "a")
    worse = _fake_run(tmp_path / "worse", 58.5, "b")
    c = compare_runs(base, worse)
    [check] = c.checks
    assert (check.metric, check.stat, check.status) == ("fakehits@5", "HITS", "regression")
    assert (check.to_json()["unit"], check.to_json()["delta_unit"]) == ("%", "pt")
    assert check.to_json()["delta"] == pytest.approx(-2.5)
    # in percentage points, as the table's unit says: 3 points allow the 2.5-point drop
    assert main(["compare", str(base), str(worse), "--max-drop", "HITS=3"]) == 0
    assert "58.50%" in capsys.readouterr().out
    assert main(["compare", str(base), str(worse)]) == 1


def test_registered_metric_is_ranked_and_summarised(
    registered: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from posebench.report import leaderboard as lb
    from posebench.robustness import summarize

    a = _fake_run(tmp_path / "a", 61.0, "a", stressed=30.5)
    b = _fake_run(tmp_path / "b", 70.04, "b")
    [t] = lb.build_tables(lb.load_runs([a, b]))
    assert (t.stat, t.higher_is_better) == ("HITS", True)
    assert [(r.rank, r.value) for r in t.rows] == [(1, 70.04), (2, 61.0)]
    assert lb.fmt_value(t.rows[0].value, t.metric) == "70.0"  # percent: shown as stored
    assert main(["report", str(a), str(b), "--format", "md"]) == 0
    md = capsys.readouterr().out
    assert "ranked by HITS (higher is better)" in md
    assert "| Rank | Model | HITS (%) [95% CI] |" in md
    assert "| 1 | jitter(tag=b) | 70.0 |" in md
    res = json.loads((a / "results.json").read_text())
    s = summarize(res["conditions"])["fakehits@5"]
    assert (s["statistic"], s["clean"], s["mRR"]) == ("HITS", 61.0, 0.5)
