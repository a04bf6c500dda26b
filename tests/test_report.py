"""``posebench report``: leaderboard rows, ranking, Markdown golden file, HTML escaping,
model-index, plots, bad input.

The golden Markdown (tests/data/report/golden.md, and golden-examiner.md: a failure search beside
a leaderboard) is regenerated only on purpose:

    POSEBENCH_REGEN_GOLDEN=1 python -m pytest -q -p no:cacheprovider tests/test_report.py -k golden
"""

from __future__ import annotations

import copy
import html
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from posebench.cli.main import main
from posebench.errors import InputError
from posebench.report import examiner as exm
from posebench.report import leaderboard as lb
from posebench.report import markdown

DATA = Path(__file__).parent / "data" / "report"
RUNS = sorted(p for p in DATA.iterdir() if (p / "results.json").is_file())
#: failure searches (``posebench examine``), kept apart from RUNS (leaderboard runs)
EXAMINER = sorted(p for p in (DATA / "examiner").iterdir() if (p / "results.json").is_file())
HOSTILE = "<script>alert(1)</script>"


def _results(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name / "results.json").read_text())
    return data


def _write_run(folder: Path, results: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results))
    return folder


def _with_ap(results: dict[str, Any], ap: float | None, name: str) -> dict[str, Any]:
    r = copy.deepcopy(results)
    r["adapter"]["args"] = {"tag": name}
    block = r["conditions"]["clean"]["metrics"]["oks"]
    block["values"]["AP"] = ap
    block["ci"] = {}
    return r


# ------------------------------------------------------------------------------------ ranking


def test_rank_ties_share_and_skip() -> None:
    assert lb.rank([0.5, 0.7, 0.5, 0.1], higher_is_better=True) == [2, 1, 2, 4]
    # equal at the displayed precision (one decimal of a percentage) is a tie
    assert lb.rank([0.7131, 0.7129, 0.70], True, scale=100) == [1, 1, 3]
    assert lb.rank([0.7131, 0.7129], True, decimals=2, scale=100) == [1, 2]


def test_rank_lower_is_better_and_missing() -> None:
    assert lb.rank([50.0, 40.0, float("nan"), 40.0, None], higher_is_better=False) == [
        3,
        1,
        None,
        1,
        None,
    ]


def test_tables_rank_ties_in_order(tmp_path: Path) -> None:
    base = _results("oracle-demo")
    runs = [
        _write_run(tmp_path / "a", _with_ap(base, 0.60, "a")),
        _write_run(tmp_path / "b", _with_ap(base, 0.80, "b")),
        _write_run(tmp_path / "c", _with_ap(base, 0.60, "c")),
        _write_run(tmp_path / "d", _with_ap(base, None, "d")),
    ]
    (t,) = lb.build_tables(lb.load_runs(runs))
    assert [(r.model, r.rank) for r in t.rows] == [
        ("oracle(tag=b)", 1),
        ("oracle(tag=a)", 2),
        ("oracle(tag=c)", 2),
        ("oracle(tag=d)", None),
    ]
    assert any("not ranked" in n and "tag=d" in n for n in t.notes)
    # the order the runs are given in does not matter
    (t2,) = lb.build_tables(lb.load_runs(runs[::-1]))
    assert [r.to_json() for r in t2.rows] == [r.to_json() for r in t.rows]


def test_lower_is_better_metric_ranks_ascending(tmp_path: Path) -> None:
    base = _results("oracle-demo")
    paths = []
    for name, err in (("far", 80.0), ("near", 40.0), ("mid", 60.0)):
        r = copy.deepcopy(base)
        r["adapter"]["args"] = {"tag": name}
        r["headline"] = "mpjpe"
        r["conditions"]["clean"]["metrics"] = {
            "mpjpe": {
                "values": {"MPJPE": err},
                "ci": {"MPJPE": {"estimate": err, "low": err - 1, "high": err + 2}},
                "signature": "mpjpe|align:root|unit:mm|v:0.1.0",
                "higher_is_better": False,
                "per_joint": {},
                "breakdowns": {},
            }
        }
        paths.append(_write_run(tmp_path / name, r))
    (t,) = lb.build_tables(lb.load_runs(paths))
    assert not t.higher_is_better
    assert [r.model for r in t.rows] == ["oracle(tag=near)", "oracle(tag=mid)", "oracle(tag=far)"]
    assert [r.rank for r in t.rows] == [1, 2, 3]
    text = markdown.render([t], "mpjpe")
    assert "MPJPE (mm) [95% CI]" in text
    assert "| 1 | oracle(tag=near) | 40.0 [39.0, 42.0] |" in text
    assert "lower is better" in text


def _as_model(results: dict[str, Any], name: str, boxes: str | None = None) -> dict[str, Any]:
    """A copy of a fixture run as another (non-fake) model, optionally on other boxes."""
    r = copy.deepcopy(results)
    r["adapter"]["name"] = name
    if boxes is not None:
        r["box_source"] = boxes
        for c in r["conditions"].values():
            for block in c["metrics"].values():
                block["signature"] = re.sub(r"boxes:[^|]*", f"boxes:{boxes}", block["signature"])
    return r


def test_gt_box_runs_and_detected_people_are_separate_tables(tmp_path: Path) -> None:
    """A top-down model on GT boxes is never ranked beside a bottom-up one; on detector boxes
    (here boxes from a file) it is, each row naming its box source."""
    mp = _results("mediapipe-demo")
    runs = lb.load_runs(
        [
            _write_run(tmp_path / "mp-gt", mp),
            _write_run(tmp_path / "bottom-up", _as_model(_results("jitter-demo"), "yolo-like")),
            _write_run(tmp_path / "mp-file", _as_model(mp, "mp-on-yolo", "file-0123abcd4567")),
        ]
    )
    tables = lb.build_tables(runs)
    assert [(t.protocol, t.fakes) for t in tables] == [("detected", False), ("gt", False)]
    detected, gt = tables
    assert [r.adapter for r in gt.rows] == ["mediapipe"]
    assert sorted(r.adapter for r in detected.rows) == ["mp-on-yolo", "yolo-like"]
    assert sorted(r.box_source for r in detected.rows) == ["file-0123abcd4567", "none"]
    assert "boxes:file-0123abcd4567,none" in detected.signature
    assert "boxes:gt" in gt.signature
    assert gt.title.endswith("· GT person boxes")
    assert "detected people" in detected.title
    assert any("ranked together under one protocol" in n for n in detected.notes)
    notes = lb.separation_notes(tables)
    assert len(notes) == 1
    assert "protocol: detected people" in notes[0]
    assert "vs GT person boxes" in notes[0]
    assert "--boxes detector" in notes[0]  # the way forward
    text = markdown.render(tables, "t", notes)
    assert "| 1 | mediapipe |" in text


def test_fakes_form_their_own_tables_after_real_models() -> None:
    runs = lb.load_runs([DATA / "mediapipe-demo", DATA / "oracle-demo", DATA / "jitter-demo"])
    tables = lb.build_tables(runs)
    assert [(t.fakes, [r.adapter for r in t.rows]) for t in tables] == [
        (False, ["mediapipe"]),
        (True, ["oracle", "jitter"]),
    ]
    assert tables[1].title.endswith("calibrated fakes (ground truth, perturbed)")
    assert "boxes:none" in tables[1].signature
    assert lb.separation_notes(tables) == []  # fakes are apart on purpose, not by signature
    text = markdown.render(tables, "t")
    assert text.index("· GT person boxes") < text.index("calibrated fakes")


def test_reported_on_and_throughput_columns(tmp_path: Path) -> None:
    r = _as_model(_results("jitter-demo"), "yolo11n-pose")
    r["adapter"]["info"]["reported"] = {"oks:AP": 0.5, "oks:AP50": 0.81}
    r["adapter"]["info"]["reported_on"] = "COCO val2017, 640 px"
    r["throughput"] = {"images_per_second": 2.345, "machine": {"cpu": "Test CPU, 2 cores"}}
    (t,) = lb.build_tables(lb.load_runs([_write_run(tmp_path / "y", r)]))
    row = t.rows[0]
    assert (row.reported, row.reported_source, row.reported_on) == (
        0.5,
        "adapter",
        "COCO val2017, 640 px",
    )
    assert row.throughput == pytest.approx(2.345)
    text = markdown.render([t], "t")
    assert "| Reported AP (%) | Reported on |" in text
    assert "| 50.0 | COCO val2017, 640 px |" in text
    assert "| 2.35 |" in text
    # every reported statistic, under the measured ones in the intervals table
    assert ": reported on COCO val2017, 640 px | 50.0 | 81.0 | — |" in text
    assert "(Test CPU, 2 cores)" in text


def test_detector_boxes_rank_beside_bottom_up(tmp_path: Path) -> None:
    res = _results("mediapipe-demo")
    blk = res["conditions"]["clean"]["metrics"]["oks"]
    blk["signature"] = blk["signature"].replace("boxes:gt", "boxes:detector")
    res["box_source"] = "detector"
    det = _write_run(tmp_path / "det", res)
    bu = _write_run(tmp_path / "bu", _as_model(_results("jitter-demo"), "yolo-like"))
    tables = lb.build_tables(lb.load_runs([det, bu]))
    assert len(tables) == 1
    assert sorted(r.adapter for r in tables[0].rows) == ["mediapipe", "yolo-like"]


def test_version_only_difference_is_ranked_together_with_a_note(tmp_path: Path) -> None:
    a = _results("jitter-demo")
    b = copy.deepcopy(_results("oracle-demo"))
    block = b["conditions"]["clean"]["metrics"]["oks"]
    block["signature"] = block["signature"].replace("v:0.1.0", "v:0.2.0")
    b["posebench"]["version"] = "0.2.0"
    runs = lb.load_runs([_write_run(tmp_path / "a", a), _write_run(tmp_path / "b", b)])
    (t,) = lb.build_tables(runs)
    assert len(t.rows) == 2
    assert any("versions differ" in n for n in t.notes)


# ---------------------------------------------------------------------------------- rows, CI


def test_row_fields_from_results() -> None:
    (t,) = lb.build_tables(lb.load_runs([DATA / "mediapipe-demo"]))
    row = t.rows[0]
    block = _results("mediapipe-demo")["conditions"]["clean"]["metrics"]["oks"]
    assert row.value == block["values"]["AP"]
    assert (row.low, row.high) == (block["ci"]["AP"]["low"], block["ci"]["AP"]["high"])
    assert row.architecture == "BlazePose GHUM 3D (full)"
    assert row.input_size == "256×256"
    assert row.box_source == "gt"
    assert row.value is not None
    cell = lb.fmt_ci(row.value, row.low, row.high, "oks")
    assert cell == (
        f"{100 * row.value:.1f} [{100 * block['ci']['AP']['low']:.1f}, "
        f"{100 * block['ci']['AP']['high']:.1f}]"
    )
    assert re.fullmatch(r"\d+\.\d \[\d+\.\d, \d+\.\d\]", cell)


def test_robustness_columns_and_sections() -> None:
    (t,) = lb.build_tables(lb.load_runs([DATA / "mediapipe-coco-c"]))
    summ = _results("mediapipe-coco-c")["summary"]["oks"]
    row = t.rows[0]
    assert (row.mpc, row.rpc, row.mrr) == (summ["mPC"], summ["rPC"], summ["mRR"])
    rob = t.sections["robustness"]["mediapipe"]["oks"]
    assert set(rob["by_condition"]) == {"gaussian_noise", "motion_blur", "fog"}
    assert rob["kinds"]["fog"] == "corruption"
    text = markdown.render([t], "t")
    assert f"| {100 * summ['mPC']:.1f} | {100 * summ['rPC']:.1f} | {100 * summ['mRR']:.1f} |" in (
        text
    )


def test_occlusion_metrics_listed() -> None:
    (t,) = lb.build_tables(lb.load_runs([DATA / "jitter-occlusion"]))
    assert set(t.sections["robustness"][t.rows[0].label]) == {"oks", "oks/occluded"}
    assert "(oks/occluded AP)" in markdown.render([t], "t")


def test_occluded_keypoint_similarity_shown_as_percent() -> None:
    # KS_occluded / PCK_occluded are fractions like OKS AP: one decimal of a fraction (0.3) would
    # read as "0.3 %" beside AP columns in percent
    assert lb.scale_of("keypoints/occluded") == 100.0
    assert lb.fmt_value(0.33182, "keypoints/occluded") == "33.2"
    assert lb.fmt_value(79.0, "pckh@0.5") == "79.0"


def test_reported_from_info_and_file(tmp_path: Path) -> None:
    runs = lb.load_runs([DATA / "mediapipe-coco-c", DATA / "synthetic-lite-coco-c"])
    (t,) = lb.build_tables(runs)
    rep = {r.model: (r.reported, r.reported_source) for r in t.rows}
    assert rep["mediapipe(model_complexity=0)"] == (0.123, "adapter")
    assert rep["mediapipe"] == (None, None)
    f = tmp_path / "reported.yaml"
    f.write_text("mediapipe: {AP: 62.3}\n")  # a percentage, as papers print it
    (t,) = lb.build_tables(runs, lb.load_reported(f))
    rep = {r.model: (r.reported, r.reported_source) for r in t.rows}
    assert rep["mediapipe"][0] == pytest.approx(0.623)
    assert rep["mediapipe"][1] == "file"
    assert "| 62.3 |" in markdown.render([t], "t")


@pytest.mark.parametrize(
    ("text", "needle"),
    [("[1, 2]\n", "mapping"), ("m: {AP: high}\n", "'AP'"), ("m: [1]\n", "m")],
)
def test_bad_reported_file(tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "rep.yaml"
    f.write_text(text)
    with pytest.raises(InputError) as e:
        lb.load_reported(f)
    assert str(f) in str(e.value)
    assert needle in str(e.value)


# ---------------------------------------------------------------------------------- markdown


def test_markdown_golden() -> None:
    text = markdown.render(
        lb.build_tables(lb.load_runs(RUNS)),
        "posebench report fixtures",
        lb.separation_notes(lb.build_tables(lb.load_runs(RUNS))),
    )
    golden = DATA / "golden.md"
    if os.environ.get("POSEBENCH_REGEN_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_markdown_golden_examiner() -> None:
    # a failure search beside a leaderboard; images linked relative to DATA (where the
    # golden file lies), so the links in golden-examiner.md work when it is opened there
    paths = [*EXAMINER, DATA / "oracle-demo"]
    texts = []
    for order in (paths, paths[::-1]):
        runs = lb.load_runs(order)
        tables = lb.build_tables(runs)
        texts.append(
            markdown.render(
                tables,
                "posebench report fixtures: failure search",
                lb.separation_notes(tables),
                examiner=exm.sections(runs),
                base=DATA,
            )
        )
    assert texts[0] == texts[1]
    golden = DATA / "golden-examiner.md"
    if os.environ.get("POSEBENCH_REGEN_GOLDEN") == "1":
        golden.write_text(texts[0], encoding="utf-8")
    assert texts[0] == golden.read_text(encoding="utf-8")


def test_markdown_deterministic_and_via_cli(tmp_path: Path) -> None:
    out = tmp_path / "lb.md"
    assert (
        main(
            [
                "report",
                *map(str, RUNS[::-1]),
                "--output",
                str(out),
                "--title",
                "posebench report fixtures",
            ]
        )
        == 0
    )
    assert out.read_text() == (DATA / "golden.md").read_text()


def test_markdown_escapes_hostile_text(tmp_path: Path) -> None:
    r = copy.deepcopy(_results("oracle-demo"))
    r["adapter"]["name"] = HOSTILE
    r["adapter"]["args"] = {"x": 'a"b&c|d'}
    r["adapter"]["info"]["architecture"] = "[click](http://example.com) *bold*"
    run = _write_run(tmp_path / "run", r)
    text = markdown.render(lb.build_tables(lb.load_runs([run])), "t")
    assert HOSTILE not in text
    assert '&lt;script&gt;alert(1)&lt;/script&gt;(x=a"b&amp;c\\|d)' in text
    assert "](http" not in text
    assert "\\*bold\\*" in text
    # the table still has as many cells in every leaderboard line
    lines = [ln for ln in text.splitlines() if ln.startswith("| ")][:3]
    assert len({len(re.split(r"(?<!\\)\|", ln)) for ln in lines}) == 1


# -------------------------------------------------------------------------------------- html


def _html(runs: list[Path], **kw: Any) -> str:
    pytest.importorskip("jinja2", reason="the HTML report needs jinja2 (posebench[report])")
    pytest.importorskip("matplotlib", reason="the HTML report needs matplotlib")
    from posebench.report import html as report_html

    tables = lb.build_tables(lb.load_runs(runs))
    return report_html.render(tables, kw.pop("title", "t"), lb.separation_notes(tables), **kw)


def test_html_escapes_hostile_names_and_paths(tmp_path: Path) -> None:
    r = copy.deepcopy(_results("oracle-demo"))
    r["adapter"]["name"] = HOSTILE
    r["adapter"]["args"] = {"q": "\"'><img src=x onerror=alert(2)>&amp;"}
    folder = tmp_path / "run \"<b>&'x"
    run = _write_run(folder, r)
    page = _html([run], title="<i>title</i> & co", n_examples=0)
    assert HOSTILE not in page
    assert "<img src=x" not in page
    assert "<i>title" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;i&gt;title&lt;/i&gt; &amp; co" in page
    assert "run &#34;&lt;b&gt;&amp;&#39;x" in page  # the run folder, escaped
    assert page.count("<script>") == 1  # ours only
    # nothing can reach the network: a strict CSP, and every src is a data URI
    assert "default-src 'none'" in html.unescape(page)
    assert all(s.startswith("data:") for s in re.findall(r'src="([^"]*)"', page))
    assert not re.search(r"""(?:href|src)=["']?(?:https?:)?//""", page)


def test_html_has_plots_examples_and_sortable_table() -> None:
    page = _html(RUNS)
    assert 'class="sortable"' in page
    assert page.count("data:image/png;base64,") >= 6  # per-joint, breakdowns, severity, PR...
    assert page.count("data:image/jpeg;base64,") == 4  # worst examples of mediapipe-demo
    assert "Precision–recall (clean)" in page
    assert "no example images for" in page  # the runs that kept no predictions


def test_pr_curve_matches_ap50() -> None:
    pytest.importorskip("matplotlib")
    from posebench.report.html import pr_curve

    run = lb.load_run(DATA / "mediapipe-demo")
    pr = pr_curve(run, "oks")
    assert pr is not None
    values = run.results["conditions"]["clean"]["metrics"]["oks"]["values"]
    # COCO AP50 is the mean interpolated precision over the 101 recall thresholds
    assert float(np.mean(pr["OKS .50"])) == pytest.approx(values["AP50"], abs=1e-12)
    assert float(np.mean(pr["OKS .75"])) == pytest.approx(values["AP75"], abs=1e-12)


def test_worst_images_are_lowest_mean_oks() -> None:
    from posebench.report.html import worst_images
    from posebench.results import read_samples

    run = lb.load_run(DATA / "mediapipe-demo")
    worst = worst_images(run, "oks", 3)
    s = read_samples(DATA / "mediapipe-demo" / "samples.parquet")
    v = s["oks.mean_oks"][np.isfinite(s["oks.mean_oks"])]
    assert [w[1] for w in worst] == sorted(v)[:3]


# ------------------------------------------------------------------------------------- plots


def test_plots_are_byte_stable_pngs() -> None:
    pytest.importorskip("matplotlib")
    from posebench.report import plots

    def make() -> bytes:
        return plots.grouped_bars(
            ["a", "b"], {"m1": [1.0, None], "m2": [0.5, 2.0]}, title="t", ylabel="AP (%)"
        )

    a, b = make(), make()
    assert a[:8] == b"\x89PNG\r\n\x1a\n"
    assert a == b
    assert b"Software" not in a
    assert b"matplotlib" not in a
    c = plots.severity_curves({"x": {0: 1.0, 1: 0.5}}, title="t", ylabel="y", mean={0: 1, 1: 0.5})
    assert c == plots.severity_curves(
        {"x": {0: 1.0, 1: 0.5}}, title="t", ylabel="y", mean={0: 1, 1: 0.5}
    )


def test_draw_example_marks_skeletons() -> None:
    from PIL import Image

    from posebench.report import plots

    img = np.zeros((100, 200, 3), np.uint8)
    kp = np.array([[[20.0, 20.0], [80.0, 80.0]]])
    jpeg = plots.draw_example(
        img, kp, np.ones((1, 2), bool), kp + np.array([100.0, 0.0]), np.ones((1, 2), bool), [(0, 1)]
    )
    im = np.asarray(Image.open(__import__("io").BytesIO(jpeg)).convert("RGB")).astype(int)
    assert im.shape == (100, 200, 3)
    assert im[50, 50, 1] > 150
    assert im[50, 50, 0] < 100
    assert im[50, 150, 0] > 150
    assert im[50, 150, 1] < 100


# ------------------------------------------------------------------------------- model-index


def test_model_index_structure(tmp_path: Path) -> None:
    out = tmp_path / "card.md"
    assert main(["report", *map(str, RUNS), "--format", "model-index", "--output", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("---\n")
    assert text.endswith("---\n")
    data = yaml.safe_load(text.strip().strip("-"))
    entries = data["model-index"]
    names = [e["name"] for e in entries]
    assert len(names) == len(set(names))
    mp = next(e for e in entries if e["name"] == "mediapipe")
    assert len(mp["results"]) == 2  # demo and coco-c
    for e in entries:
        for res in e["results"]:
            assert res["task"]["type"] == "keypoint-detection"
            assert set(res["dataset"]) >= {"name", "type"}
            for m in res["metrics"]:
                assert set(m) == {"type", "value", "name", "verified"}
                assert m["verified"] is False
                assert isinstance(m["value"], float)
    demo = next(r for r in mp["results"] if r["dataset"]["config"] == "demo")
    ap = next(m for m in demo["metrics"] if m["type"] == "AP")
    want = _results("mediapipe-demo")["conditions"]["clean"]["metrics"]["oks"]["values"]["AP"]
    assert ap["value"] == round(100 * want, 1)
    assert demo["dataset"]["type"] == "coco"
    cococ = next(r for r in mp["results"] if r["dataset"]["config"] == "coco-c")
    assert {"mPC", "rPC", "mRR"} <= {m["type"] for m in cococ["metrics"]}


def test_json_format(tmp_path: Path) -> None:
    out = tmp_path / "lb.json"
    assert main(["report", *map(str, RUNS), "--output", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["schema"] == "posebench.report/1"
    assert sum(len(t["rows"]) for t in data["tables"]) == len(RUNS)
    t = next(t for t in data["tables"] if t["suite"] == "coco-c")
    assert [r["rank"] for r in t["rows"]] == [1, 2]
    assert {"ci", "per_joint", "breakdowns", "robustness", "error_analysis"} == set(t["sections"])


# --------------------------------------------------------------------------------- bad input


def test_not_a_run_folder_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path), "--output", str(tmp_path / "x.md")]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "results.json") in err
    assert "run folder" in err


def test_wrong_schema_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "results.json").write_text(json.dumps({"schema": "other/9"}))
    assert main(["report", str(DATA / "oracle-demo"), str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "results.json") in err
    assert "'schema'" in err


def test_missing_field_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = _results("oracle-demo")
    del r["conditions"]["clean"]["metrics"]["oks"]["values"]
    _write_run(tmp_path / "bad", r)
    assert main(["report", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "bad/results.json" in err
    assert "condition 'clean'" in err
    assert "'values'" in err


def test_not_json_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "results.json").write_text("{nope")
    assert main(["report", str(tmp_path)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_plots_are_palette_pngs_of_the_same_picture() -> None:
    """``plots.to_png`` writes a 256-colour palette PNG of the figure: the size of matplotlib's
    own PNG, fewer bytes, and every pixel within a few levels of it."""
    import io

    from PIL import Image

    from posebench.report import plots

    fig = plots._figure(6, 4)
    ax = fig.add_subplot()
    for k in range(6):
        ax.plot(np.linspace(0, 1, 50), np.linspace(0, 1, 50) ** (k + 1), label=f"line {k}")
    ax.legend()
    raw = io.BytesIO()
    fig.savefig(raw, format="png", dpi=plots.DPI, metadata={"Software": None})
    png = plots.to_png(fig)
    pal = Image.open(io.BytesIO(png))
    assert pal.mode == "P"
    mine = np.asarray(pal.convert("RGB"), np.int16)
    ref = np.asarray(Image.open(raw).convert("RGB"), np.int16)
    assert mine.shape == ref.shape
    assert np.abs(mine - ref).max() <= 16
    assert np.abs(mine - ref).mean() < 0.5
    assert len(png) < raw.tell()
