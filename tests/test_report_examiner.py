"""``posebench report`` on failure searches (``posebench examine`` run folders): a "Failure
search" section per run with the search, success rate, region size and a gallery of failure
modes, worst first; examiner-only and mixed reports in Markdown, HTML and JSON; missing or
escaping images; hostile names; bad examiner sections.

The fixture (tests/data/report/examiner/raised-right-arm) is a real ``posebench examine`` run
with the planted-weakness adapter of tests/fake_examiner_adapters.py (see the README there).
"""

from __future__ import annotations

import base64
import copy
import html
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from posebench.cli.main import main
from posebench.errors import InputError
from posebench.report import examiner as exm
from posebench.report import leaderboard as lb
from posebench.report import markdown, modelindex

DATA = Path(__file__).parent / "data" / "report"
EX = DATA / "examiner" / "raised-right-arm"
ORACLE = DATA / "oracle-demo"
HOSTILE = "<script>alert(1)</script>"
PNG = b"\x89PNG\r\n\x1a\n"


def _results(folder: Path = EX) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "results.json").read_text())
    return data


def _copy(tmp_path: Path, name: str = "exam") -> Path:
    dst = tmp_path / name
    shutil.copytree(EX, dst)
    return dst


def _save(folder: Path, results: dict[str, Any]) -> Path:
    (folder / "results.json").write_text(json.dumps(results))
    return folder


def _md(paths: list[Path], base: Path | None = None) -> str:
    runs = lb.load_runs(paths)
    return markdown.render(
        lb.build_tables(runs), "t", examiner=exm.sections(runs), base=base or DATA
    )


def _html(paths: list[Path], n_examples: int = 0) -> str:
    pytest.importorskip("jinja2", reason="the HTML report needs jinja2 (posebench[report])")
    pytest.importorskip("matplotlib", reason="the HTML report needs matplotlib")
    from posebench.report import html as report_html

    runs = lb.load_runs(paths)
    tables = lb.build_tables(runs)
    return report_html.render(
        tables,
        "t",
        lb.separation_notes(tables),
        n_examples=n_examples,
        examiner=exm.sections(runs),
    )


def _uri(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


# ------------------------------------------------------------------------------------ data


def test_examiner_run_is_a_section_not_a_row() -> None:
    res = _results()
    ex = res["examiner"]
    runs = lb.load_runs([EX])
    assert lb.is_examiner(runs[0].results)
    assert lb.build_tables(runs) == []
    (s,) = exm.sections(runs)
    assert s.adapter == res["adapter"]["name"]
    assert s.model == lb.model_name(res)
    assert (s.agents, s.successes, s.success_rate) == (
        ex["agents"],
        ex["successes"],
        ex["success_rate"],
    )
    assert (s.queries, s.budget, s.seed) == (ex["queries"], ex["budget"], ex["seed"])
    assert (s.threshold, s.metric) == (ex["threshold"], ex["metric"])
    rs = ex["region_size"]
    assert (s.norm_gap, s.norm_gap_rad, s.mean_width) == (
        rs["norm_gap"],
        rs["norm_gap_rad"],
        rs["mean_width"],
    )
    assert sum(s.dimensions.values()) == len(ex["dimensions"])
    assert s.body == ex["body"]
    assert len(s.cards) == len(ex["failure_modes"])
    by_agent = {fm["agent"]: fm for fm in ex["failure_modes"]}
    for c in s.cards:
        fm = by_agent[c.agent]
        assert c.error == fm["error"]
        assert c.region_failure_rate == fm["region_failure_rate"]
        assert c.image == fm["image"]
        assert c.image_file == (EX / fm["image"]).resolve()
        assert c.image_problem is None
        assert c.region_problem is None
        assert 0 < len(c.params) <= exm.TOP_PARAMS
        for p in c.params:
            assert p.value == fm["params"][p.name]


def test_top_params_are_furthest_from_defaults() -> None:
    dims = {
        "a": {"lo": -1.0, "hi": 1.0, "default": 0.0, "unit": "rad"},
        # the default is not the middle of the range: -1.3 in [-1.5, 1.4]
        "b": {"lo": -1.5, "hi": 1.4, "default": -1.3, "unit": "rad"},
        "c": {"lo": -180.0, "hi": 180.0, "default": 0.0, "unit": "deg"},
        "d": {"lo": 0.0, "hi": 1.0, "default": 0.5, "unit": ""},
    }
    fm: dict[str, Any] = {"params": {"a": 0.5, "b": -1.3, "c": -90.0, "d": 0.0}}
    got = exm.top_params(fm, dims)
    # |2 (v - default) / (hi - lo)|: a 0.5, b 0 (at its default: left out), c 0.5, d 1.0
    assert [p.name for p in got] == ["d", "a", "c"]
    assert [p.deviation for p in got] == pytest.approx([1.0, 0.5, 0.5])
    assert exm.fmt_param(got[2]) == "c = -90 deg (default 0)"
    assert [p.name for p in exm.top_params(fm, dims, n=1)] == ["d"]
    # without recorded dimensions: |normalised point|
    fm = {"params": {"x": 3.0, "y": 1.0, "z": 2.0}, "point": [0.1, -0.9, 0.5]}
    assert [p.name for p in exm.top_params(fm, {})] == ["y", "z", "x"]


# -------------------------------------------------------------------------- examiner only


def test_examiner_only_markdown_links_images_relative_to_the_output(tmp_path: Path) -> None:
    res = _results()
    ex = res["examiner"]
    out_dir = tmp_path / "site" / "reports"
    out_dir.mkdir(parents=True)
    text = _md([EX], base=out_dir)
    assert "0 runs in 0 tables" not in text
    assert "1 failure search (posebench examine), not ranked." in text
    assert "## Failure search · " in text
    assert "| Model | Body | Agents | Queries | Seed | Failure | Success rate |" in text
    rate = f"{ex['successes']} of {ex['agents']} ({100 * ex['success_rate']:.1f}%)"
    assert f"| {ex['queries']} of {ex['budget']} | {ex['seed']} | 1 − OKS ≥ " in text
    assert rate in text
    assert f"| {ex['region_size']['norm_gap']:.3f} |" in text
    links = re.findall(r"!\[agent (\d+)( region)?\]\(([^)]+)\)", text)
    assert len(links) == 2 * len(ex["failure_modes"])
    by_agent = {fm["agent"]: fm for fm in ex["failure_modes"]}
    for agent, region, target in links:
        assert not target.startswith("/")
        # the link resolves, from the Markdown file's folder, to the run's image
        key = "region_image" if region else "image"
        want = (EX / by_agent[int(agent)][key]).resolve()
        assert (out_dir / target).resolve() == want
    # the same report written next to the fixtures links below it
    assert "](examiner/raised-right-arm/failures/agent-00.png)" in _md([EX], base=DATA)


def test_examiner_only_html_inlines_the_gallery() -> None:
    page = _html([EX])
    ex = _results()["examiner"]
    assert "1 failure search (posebench examine), not ranked." in page
    assert 'class="sortable"' not in page  # no leaderboard
    assert '<div class="gallery">' in page
    for fm in ex["failure_modes"]:
        assert _uri(EX / fm["image"]) in page
        assert _uri(EX / fm["region_image"]) in page
    assert page.count("<figure>") == len(ex["failure_modes"])
    assert all(s.startswith("data:") for s in re.findall(r'src="([^"]*)"', page))
    assert "default-src 'none'" in html.unescape(page)


def test_examiner_only_json() -> None:
    runs = lb.load_runs([EX])
    doc = lb.report_json("t", [], lb.build_tables(runs), exm.sections(runs))
    data = json.loads(json.dumps(doc, allow_nan=False))
    assert data["schema"] == "posebench.report/1"
    assert data["tables"] == []
    (s,) = data["examiner"]
    ex = _results()["examiner"]
    assert s["success_rate"] == ex["success_rate"]
    assert s["threshold"] == ex["threshold"]
    assert [c["rank"] for c in s["cards"]] == list(range(1, len(ex["failure_modes"]) + 1))
    assert {c["image"] for c in s["cards"]} == {fm["image"] for fm in ex["failure_modes"]}
    assert all(c["image_problem"] is None for c in s["cards"])
    assert all(p["unit"] for c in s["cards"] for p in c["params"])
    # no absolute image paths in the data: names as recorded, relative to the run
    assert str(EX.resolve()) not in json.dumps(s["cards"])


def test_search_without_failures(tmp_path: Path) -> None:
    r = _results()
    ex = r["examiner"]
    ex.update(failure_modes=[], regions=[], successes=0, success_rate=0.0)
    ex["region_size"] = {k: None for k in ex["region_size"]}  # NaN is written as null
    run = _save(_copy(tmp_path), r)
    text = _md([run])
    assert f"0 of {ex['agents']} (0.0%)" in text
    assert "no failure found" in text
    assert "Failure modes, worst first" not in text
    assert "| — | — | — |" in text
    page = _html([run])
    assert "no failure found" in page
    assert "<figure>" not in page


# ---------------------------------------------------------------------------------- mixed


def test_mixed_report_shows_both(tmp_path: Path) -> None:
    text = _md([EX, ORACLE])
    assert text.index("## demo · coco-sample") < text.index("## Failure search")
    assert "1 run in 1 table; runs are ranked together" in text
    assert "1 failure search (posebench examine), not ranked, after the tables." in text
    assert "| 1 | oracle |" in text
    # the examiner run is no leaderboard row and no model-index entry
    runs = lb.load_runs([EX, ORACLE])
    (t,) = lb.build_tables(runs)
    assert [r.adapter for r in t.rows] == ["oracle"]
    entries = modelindex.model_index(lb.build_tables(runs))["model-index"]
    assert [e["name"] for e in entries] == ["oracle"]
    out = tmp_path / "card.yaml"
    assert main(["report", str(EX), str(ORACLE), "--format", "model-index", "-o", str(out)]) == 0
    assert "fake_examiner" not in out.read_text()
    page = _html([EX, ORACLE])
    assert 'class="sortable"' in page
    assert '<div class="gallery">' in page
    assert page.index('class="sortable"') < page.index('<div class="gallery">')


def test_markdown_deterministic_whatever_the_order(tmp_path: Path) -> None:
    other = _copy(tmp_path, "exam-b")
    a = _md([EX, ORACLE, other], base=tmp_path)
    b = _md([other, ORACLE, EX], base=tmp_path)
    assert a == b
    # the same model searched twice: told apart by the run folder
    assert "[raised-right-arm]" in a
    assert "[exam-b]" in a


# ------------------------------------------------------------------------ gallery details


def test_gallery_is_worst_first(tmp_path: Path) -> None:
    r = _results()
    modes = r["examiner"]["failure_modes"]
    assert len(modes) == 3
    errors = {0: 0.70, 1: 0.95, 2: None}  # None: NaN (no prediction), counted as the worst
    for fm in modes:
        fm["error"] = errors[fm["agent"]]
    run = _save(_copy(tmp_path), r)
    (s,) = exm.sections(lb.load_runs([run]))
    assert [c.agent for c in s.cards] == [2, 1, 0]
    assert [c.rank for c in s.cards] == [1, 2, 3]
    text = _md([run])
    assert [int(a) for a in re.findall(r"\| \d \| agent (\d)<br>", text)] == [2, 1, 0]
    assert "| no prediction |" in text
    page = _html([run])
    titles = re.findall(r"#(\d) · agent (\d) · error ([^<]+)<br>", page)
    assert titles == [("1", "2", "no prediction"), ("2", "1", "0.950"), ("3", "0", "0.700")]


def test_missing_image_is_reported_not_fatal(tmp_path: Path) -> None:
    run = _copy(tmp_path)
    (run / "failures" / "agent-01.png").unlink()
    (run / "failures" / "agent-02-region.png").unlink()
    text = _md([run], base=tmp_path)
    assert "image missing: failures/agent-01.png" in text
    assert "image missing: failures/agent-02-region.png" in text
    assert "![agent 1 region](exam/failures/agent-01-region.png)" in text
    assert "![agent 1](" not in text
    page = _html([run])
    assert "image missing: failures/agent-01.png" in page
    assert "region image missing: failures/agent-02-region.png" in page
    assert _uri(run / "failures" / "agent-00.png") in page
    assert page.count("<figure>") == 3


def test_image_outside_the_run_folder_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG + b"not yours")
    run = _copy(tmp_path)
    r = _results()
    r["examiner"]["failure_modes"][0]["image"] = "../secret.png"
    r["examiner"]["failure_modes"][1]["image"] = str(secret)
    (run / "failures" / "agent-02.png").write_text("not an image")
    _save(run, r)
    text = _md([run], base=tmp_path)
    assert "image outside the run folder: ../secret.png" in text
    assert f"image outside the run folder: {secret}" in text
    assert "secret.png)" not in text
    page = _html([run])
    assert _uri(secret) not in page
    assert page.count("image outside the run folder") == 2
    assert "not a PNG or JPEG image: agent-02.png" in page


def test_hostile_names_are_escaped(tmp_path: Path) -> None:
    r = _results()
    r["adapter"]["name"] = HOSTILE
    r["adapter"]["args"] = {"q": "\"'><img src=x onerror=alert(2)>&amp;|x"}
    r["adapter"]["info"]["architecture"] = "[click](http://example.com) *bold*"
    for d in r["examiner"]["dimensions"]:
        d["name"] = "<b>" + d["name"] + "</b>"
    fm = r["examiner"]["failure_modes"][0]
    fm["params"] = {"<b>" + k + "</b>": v for k, v in fm["params"].items()}
    fm["image"] = "failures/<img onerror=alert(3)>.png"
    run = _save(_copy(tmp_path, "run \"<b>&'x (1)"), r)
    shutil.copy(run / "failures" / "agent-00.png", run / "failures" / "<img onerror=alert(3)>.png")
    text = _md([run], base=tmp_path)
    assert HOSTILE not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<img" not in text
    assert "<b>" not in text
    assert "](http" not in text
    # a folder name with spaces, quotes and brackets cannot end the image link
    folder = "run%20%22%3Cb%3E%26%27x%20%281%29"
    assert f"]({folder}/failures/%3Cimg%20onerror%3Dalert%283%29%3E.png)" in text
    # the summary table keeps its cells
    row = next(ln for ln in text.splitlines() if ln.startswith("| &lt;script&gt;"))
    assert len(re.split(r"(?<!\\)\|", row)) == 12
    page = _html([run])
    assert HOSTILE not in page
    assert "<img src=x" not in page
    assert "<img onerror" not in page
    assert "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;right_" in page
    assert "&lt;img onerror=alert(3)&gt;.png" in page  # the image's alt text, escaped
    assert page.count("<script>") == 1  # ours only
    assert all(s.startswith("data:") for s in re.findall(r'src="([^"]*)"', page))


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("change", "record", "fld"),
    [
        (lambda ex: ex.update(failure_modes={}), "examiner", "'failure_modes'"),
        (lambda ex: ex.update(agents="3"), "examiner", "'agents'"),
        (lambda ex: ex["failure_modes"][1].update(error="big"), "failure mode 1", "'error'"),
        (lambda ex: ex["failure_modes"][2].update(params=[1]), "failure mode 2", "'params'"),
        (lambda ex: ex["failure_modes"][0].update(image=3), "failure mode 0", "'image'"),
        (lambda ex: ex["dimensions"][0].pop("default"), "dimension 0", "'default'"),
    ],
)
def test_bad_examiner_section(tmp_path: Path, change: Any, record: str, fld: str) -> None:
    r = copy.deepcopy(_results())
    change(r["examiner"])
    run = _save(_copy(tmp_path), r)
    with pytest.raises(InputError) as e:
        lb.load_run(run)
    msg = str(e.value)
    assert str(run / "results.json") in msg
    assert record in msg
    assert fld in msg


def test_bad_examiner_section_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = _results()
    r["examiner"] = []
    run = _save(_copy(tmp_path), r)
    assert main(["report", str(run), str(ORACLE)]) == 2
    err = capsys.readouterr().err
    assert os.fspath(run / "results.json") in err
    assert "'examiner'" in err


# ------------------------------------------------------------------- via the CLI (needs the
# posebench/cli/report.py change that passes the failure searches to the renderers)


def test_cli_examiner_report_md_html_json(tmp_path: Path) -> None:
    out = tmp_path / "site" / "lb.md"
    assert main(["report", str(EX), str(ORACLE), "--output", str(out)]) == 0
    text = out.read_text()
    assert "## Failure search · " in text
    (target,) = re.findall(r"!\[agent 0\]\(([^)]+)\)", text)
    assert (out.parent / target).resolve() == (EX / "failures" / "agent-00.png").resolve()
    data_out = tmp_path / "lb.json"
    assert main(["report", str(EX), "--output", str(data_out)]) == 0
    data = json.loads(data_out.read_text())
    assert data["tables"] == []
    assert len(data["examiner"][0]["cards"]) == len(_results()["examiner"]["failure_modes"])
    pytest.importorskip("jinja2", reason="the HTML report needs jinja2 (posebench[report])")
    pytest.importorskip("matplotlib", reason="the HTML report needs matplotlib")
    page_out = tmp_path / "lb.html"
    assert main(["report", str(EX), "--output", str(page_out)]) == 0
    assert _uri(EX / "failures" / "agent-00.png") in page_out.read_text()


def test_search_beside_random_modes_in_words_and_settings(tmp_path: Path) -> None:
    res = _results()
    ex = res["examiner"]
    ex["method"] = "pg"
    ex["config"]["mode_radius"] = 0.5
    ex["scene"] = {"backgrounds": "photos", "occluder": "box", "implausible": "reject",
                   "rejected": 7, "camera_elevation": [-10.0, 35.0]}  # fmt: skip
    ex["stats"] = {"queries": 600, "failures": 171, "failures_per_query": 0.285,
                   "distinct_modes": 9, "mode_radius": 0.5, "queries_to_first_failure": 82,
                   "agents_with_failure": 4, "iterations_per_agent": [18, 18, 18, 18],
                   "scout_failure_rate": 0.0, "regime": "rare"}  # fmt: skip
    ex["baseline"] = {"method": "random", "stats": {
        "queries": 600, "failures": 1, "failures_per_query": 0.0017, "distinct_modes": 1,
        "mode_radius": 0.5, "queries_to_first_failure": 189, "agents_with_failure": 1}}  # fmt: skip
    ex["calibration"] = {"samples": 32, "failure_rate": 0.03125}
    fm = ex["failure_modes"][0]
    fm["description"] = "right arm raised above the head, seen from behind"
    fm["evidence"] = True
    fm["photo_checks"] = [{"dataset": "coco-sample", "in_mode": 9, "rest": 59,
                           "matched_on": {"right_arm": "above the head"},
                           "oks_in_mode": 0.21, "oks_rest": 0.37, "holds": True}]  # fmt: skip
    run = _save(_copy(tmp_path), res)
    md = _md([run], base=tmp_path)
    assert "Search beside uniform random search at the same budget" in md
    assert "| failures per query | 0.2850 | 0.0017 |" in md
    assert "| distinct failure modes (dedup radius 0.5) | 9 | 1 |" in md
    assert "| queries to first failure | 82 | 189 |" in md
    assert "| iterations per agent | 18 18 18 18 | — |" in md
    assert "| calibration scenes over the threshold | 3% | — |" in md
    assert "| uniform scout scenes that fail (regime) | 0% (rare) | — |" in md
    plain = md.replace("\\", "")  # the Markdown escapes the settings' "|" and backticks
    assert "body:mannequin|size:" in plain
    assert "|bg:photos|occ:box|implausible:reject|search:pg|radius:0.5|elev:-10..35" in plain
    assert "right arm raised above the head, seen from behind" in md
    assert (
        "coco-sample: 9 people in mode (right_arm above the head), OKS 0.210 vs 0.370 on 59 "
        "others (holds)"
    ) in md
    s = exm.sections(lb.load_runs([run]))[0]
    page = _html([run])
    assert "failures per query" in page
    assert "right arm raised above the head, seen from behind" in page
    assert "search:pg|radius:0.5" in html.unescape(page)
    card = next(c for c in s.cards if c.photo_checks)
    assert card.to_json()["photo_checks"][0]["in_mode"] == 9
    assert card.evidence is True


def test_rendered_png_is_inlined_as_a_smaller_jpeg(tmp_path: Path) -> None:
    """A photographic PNG (here a real photo saved as PNG) goes into the page as a JPEG of under
    half its bytes and the same size; a PNG that JPEG does not halve stays as it is."""
    import io

    from PIL import Image

    from posebench.report.html import image_uri

    photo = Image.open(Path(__file__).parent / "data" / "corruptions" / "000000197388.jpg")
    png = tmp_path / "render.png"
    photo.save(png)
    uri, why = image_uri(png)
    assert why is None
    assert uri is not None
    assert uri.startswith("data:image/jpeg;base64,")
    jpeg = base64.b64decode(uri.split(",", 1)[1])
    assert 2 * len(jpeg) < png.stat().st_size
    assert Image.open(io.BytesIO(jpeg)).size == photo.size
    flat = tmp_path / "flat.png"
    Image.new("RGB", (64, 64), (40, 90, 200)).save(flat)
    assert image_uri(flat) == ("data:image/png;base64," + _uri(flat), None)
