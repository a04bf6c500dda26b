"""One self-contained HTML page: the leaderboard, its sections and plots, offline and escaped.

- Rendered by jinja2 with ``autoescape=True``: every string from a run (model names, adapter
  arguments, paths) is text, never markup, so a model submitted as ``<script>alert(1)</script>``
  shows as that text.
- A Content-Security-Policy ``<meta>`` allows nothing but the page's own inline script and style
  (by their sha256) and ``data:`` images: no network access of any kind, and a script that got
  into the page some other way would not run.
- Plots (:mod:`posebench.report.plots`) and example images are inlined as base64 ``data:`` URIs;
  no external CSS, JS or fonts (system font stack).
- The leaderboard tables sort on a click on a column header (a few lines of inline script, no
  library); each cell carries its sort key in ``data-k``.
- Failure searches (``posebench examine`` runs, :mod:`posebench.report.examiner`) get a section
  each after the tables: the search, its success rate and region size, and a gallery of failure
  modes (worst first) whose images are read from the run folder and inlined; an image that is
  missing, outside the run folder or not a PNG/JPEG is named in its card instead.
- Example images (worst clean images first, by ``oks.mean_oks`` in ``samples.parquet``) are drawn
  for runs that kept ``predictions/clean.npz`` and whose dataset images can be read (the embedded
  sample always can); the PR curves need ``matches/clean.<metric>.npz``. Runs without them are
  listed without those figures, and the page says so.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import math
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from posebench.errors import InputError
from posebench.metrics import table as metric_table
from posebench.report import examiner as exm
from posebench.report import plots
from posebench.report.leaderboard import Run, Table, headline_stat, scale_of, unit_of
from posebench.report.markdown import Block, examiner_blocks, intro, table_blocks

log = logging.getLogger(__name__)

#: the inline script: sortable tables. Kept here (not in the template) so its CSP hash is exact.
SORT_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, col) {
    th.tabIndex = 0;
    function sort() {
      var body = table.tBodies[0];
      var asc = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-k"), y = b.cells[col].getAttribute("data-k");
        if (x === "" && y === "") return 0;
        if (x === "") return 1;
        if (y === "") return -1;
        var nx = Number(x), ny = Number(y), c;
        if (!isNaN(nx) && !isNaN(ny)) c = nx - ny; else c = x < y ? -1 : x > y ? 1 : 0;
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) { if (e.key === "Enter") sort(); });
  });
});
"""

STYLE = """
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg2: #f6f8fa; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; color: var(--fg); margin: 0 auto; padding: 1.5rem 2rem 4rem; max-width: 1280px;
  line-height: 1.5; font-size: 15px; }
h1 { font-size: 1.8rem; margin: 0.5rem 0; }
h2 { font-size: 1.35rem; margin-top: 2.5rem; padding-bottom: 0.3rem;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 1.1rem; margin-top: 1.8rem; }
h4 { font-size: 1rem; margin-top: 1.2rem; color: var(--muted); }
p.intro, p.sig, p.text { color: var(--muted); }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.85em;
  background: var(--bg2); padding: 0.1em 0.35em; border-radius: 4px; word-break: break-all; }
blockquote { margin: 0.6rem 0; padding: 0.3rem 0.9rem; border-left: 4px solid #d4a72c;
  background: #fff8c5; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; font-size: 0.9rem;
  font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: 0.3rem 0.6rem; vertical-align: top; }
th { background: var(--bg2); text-align: left; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fbfcfd; }
td.r, th.r { text-align: right; white-space: nowrap; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th::after { content: " \\2195"; color: #afb8c1; }
table.sortable th[aria-sort="ascending"]::after { content: " \\2191"; color: var(--fg); }
table.sortable th[aria-sort="descending"]::after { content: " \\2193"; color: var(--fg); }
img.plot { max-width: 100%; height: auto; display: block; margin: 0.6rem 0; }
details { margin: 0.4rem 0; }
summary { cursor: pointer; color: var(--muted); }
.examples { display: flex; flex-wrap: wrap; gap: 0.8rem; }
figure { margin: 0; font-size: 0.8rem; color: var(--muted); max-width: 330px; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); }
.gallery { display: flex; flex-wrap: wrap; gap: 0.8rem; margin: 0.6rem 0 1rem; }
.gallery figure { max-width: 360px; border: 1px solid var(--line); border-radius: 6px;
  padding: 0.5rem; background: #fff; }
.gallery .pics { display: flex; gap: 0.4rem; align-items: flex-start; }
.gallery img { width: 160px; height: auto; image-rendering: pixelated; }
.gallery figcaption { margin-top: 0.4rem; color: var(--fg); }
.gallery ul { margin: 0.3rem 0 0; padding-left: 1.1rem; color: var(--muted); }
.gallery .missing { color: #cf222e; font-size: 0.8rem; margin: 0.2rem 0; }
footer { margin-top: 3rem; color: var(--muted); font-size: 0.85rem; }
"""


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def data_uri(data: bytes, mime: str = "image/png") -> str:
    """``data:<mime>;base64,...``."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


# ------------------------------------------------------------------------------ figure data


def pr_curve(run: Run, metric: str) -> dict[str, np.ndarray] | None:
    """Interpolated precision at the 101 COCO recall thresholds for OKS .50 and .75 (clean
    condition, all areas, the last maxDets), from ``matches/clean.<metric>.npz``; None when the
    run has no match records or they do not fit the signature's parameters."""
    from posebench.metrics import cocoeval
    from posebench.results import load_matches
    from posebench.signature import parse_signature
    from posebench.skeletons import SKELETONS

    row = metric_table.row_for_key(metric)
    if row is None or row.records != "matches":
        return None
    path = run.path / "matches" / f"clean.{metric.replace('/', '-')}.npz"
    if not path.is_file():
        return None
    cond = (run.results.get("conditions") or {}).get("clean") or {}
    sig = str(((cond.get("metrics") or {}).get(metric) or {}).get("signature") or "")
    _, parts = parse_signature(sig)
    sk = SKELETONS.get(parts.get("sigmas", ""))
    if sk is None or sk.sigmas is None:
        return None
    make = row.resolve_params()
    over: dict[str, object] = {}
    if parts.get("maxdets", "").isdigit():
        over["max_dets"] = (int(parts["maxdets"]),)
    params = make(sk.oks_sigmas(), **over)
    try:
        matches = load_matches(path)
        m = matches[0]
        if m.gt_ignore.shape[0] != len(params.area_ranges):
            return None
        precision, _, _ = cocoeval.accumulate(m, params)
    except (OSError, KeyError, ValueError, IndexError) as e:
        log.warning("%s: no PR curve (%s)", path, e)
        return None
    out: dict[str, np.ndarray] = {"recall": params.rec_thrs.astype(np.float64)}
    for thr, label in ((0.5, "OKS .50"), (0.75, "OKS .75")):
        t = np.flatnonzero(np.isclose(params.iou_thrs, thr))
        if len(t):
            p = precision[int(t[0]), :, 0, -1].astype(np.float64)
            out[label] = np.where(p < 0, np.nan, p)
    return out


def _has_matches(metric: str) -> bool:
    """Whether a run records OKS match records for ``metric`` (per-image OKS, PR curves)."""
    row = metric_table.row_for_key(metric)
    return row is not None and row.records == "matches"


def worst_images(run: Run, metric: str, n: int) -> list[tuple[int, float]]:
    """The ``n`` clean images with the lowest mean OKS (ties by image id): (image id, mean OKS).

    Images without counted ground truth (mean OKS NaN) are left out.
    """
    from posebench.results import read_samples

    path = run.path / "samples.parquet"
    if n <= 0 or not path.is_file() or not _has_matches(metric):
        return []
    s = read_samples(path)
    col = f"{metric}.mean_oks"
    if col not in s or "condition" not in s:
        return []
    sel = np.flatnonzero(s["condition"] == "clean")
    ids = np.asarray(s["image_id"], np.int64)[sel]
    vals = np.asarray(s[col], np.float64)[sel]
    ok = np.isfinite(vals)
    ids, vals = ids[ok], vals[ok]
    order = np.lexsort((ids, vals))[:n]
    return [(int(ids[i]), float(vals[i])) for i in order]


def _load_dataset(run: Run, data_root: Path | None, cache: dict[Any, Any]) -> Any:
    from posebench.datasets import load_dataset

    ds = run.results.get("dataset") or {}
    name = str(ds.get("name") or "")
    root = data_root or (Path(ds["root"]) if ds.get("root") else None)
    key = (name, str(root))
    if key not in cache:
        try:
            cache[key] = load_dataset(name, root)
        except (InputError, OSError) as e:
            log.info("example images skipped for %s: %s", run.path, e)
            cache[key] = None
    return cache[key]


def examples(
    run: Run, metric: str, n: int, data_root: Path | None, cache: dict[Any, Any]
) -> list[dict[str, Any]]:
    """Figures of the run's worst clean images: ``{uri, caption}`` each; empty when the
    predictions or the images are not available."""
    from posebench.results import load_poses

    pred_path = run.path / "predictions" / "clean.npz"
    if n <= 0 or not pred_path.is_file():
        return []
    worst = worst_images(run, metric, n)
    if not worst:
        return []
    ds = _load_dataset(run, data_root, cache)
    if ds is None:
        return []
    pred = load_poses(pred_path)
    gt = ds.gt
    limbs = ds.skeleton.limbs
    out = []
    for image_id, mean_oks in worst:
        try:
            image = ds.load_image(image_id)
        except (InputError, OSError, KeyError) as e:
            log.info("no image %s for %s: %s", image_id, run.path, e)
            continue
        g = np.flatnonzero(gt.image_id == image_id)
        p = np.flatnonzero(pred.image_id == image_id)
        g_kp = gt.keypoints[g, :, :2]
        g_vis = gt.visibility[g] > 0 if gt.visibility is not None else np.ones(g_kp.shape[:2], bool)
        p_kp = pred.keypoints[p, :, :2]
        p_vis: npt.NDArray[np.bool_] = np.asarray(np.isfinite(p_kp).all(axis=-1))
        if pred.keypoint_scores is not None:
            p_vis &= pred.keypoint_scores[p] > 0
        jpeg = plots.draw_example(image, g_kp, g_vis, p_kp, p_vis, limbs)
        out.append(
            {
                "uri": data_uri(jpeg, "image/jpeg"),
                "caption": f"image {image_id} · mean OKS {mean_oks:.2f} · {len(g)} GT, "
                f"{len(p)} predicted",
            }
        )
    return out


def image_uri(path: Path) -> tuple[str | None, str | None]:
    """A PNG or JPEG file as a data URI: ``(uri, None)``, or ``(None, why)``."""
    try:
        data = path.read_bytes()
    except OSError as e:
        return None, f"image not readable: {path.name} ({e.strerror})"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        jpeg = _smaller_jpeg(data)
        if jpeg is not None:
            return data_uri(jpeg, "image/jpeg"), None
        return data_uri(data, "image/png"), None
    if data.startswith(b"\xff\xd8\xff"):
        return data_uri(data, "image/jpeg"), None
    return None, f"not a PNG or JPEG image: {path.name}"


def _smaller_jpeg(png: bytes, quality: int = 85) -> bytes | None:
    """A rendered PNG (the examiner's failure and region images) re-encoded as JPEG when that
    is under half its size (renders are photographic: a quarter of the bytes, which the page
    inlines; the run folder keeps the PNG); None otherwise or where it cannot be decoded."""
    from PIL import Image, UnidentifiedImageError  # matplotlib's own dependency

    try:
        rgb = Image.open(io.BytesIO(png)).convert("RGB")
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        return None  # embedded as it is, or reported, as before
    buf = io.BytesIO()
    rgb.save(buf, format="JPEG", quality=quality)
    return buf.getvalue() if 2 * buf.tell() < len(png) else None


def gallery_cards(cards: Sequence[exm.Card]) -> list[dict[str, Any]]:
    """Gallery cards for the template: text fields, inlined images and problems."""
    out = []
    for c in cards:
        images, problems = [], []
        for kind, name, file, problem in (
            ("failure", c.image, c.image_file, c.image_problem),
            ("region", c.region_image, c.region_file, c.region_problem),
        ):
            if file is not None:
                uri, problem = image_uri(file)
                if uri is not None:
                    alt = f"agent {c.agent}: {kind}" + (f" ({name})" if name else "")
                    images.append({"uri": uri, "alt": alt, "kind": kind})
            if problem:
                problems.append(problem if kind == "failure" else f"region {problem}")
        out.append(
            {
                "title": f"#{c.rank} · agent {c.agent} · error {exm.fmt_error(c)}",
                "detail": f"region failure rate {exm.fmt_rate(c)} · NormGap "
                f"{exm.fmt_num(c.norm_gap)}",
                "params": [exm.fmt_param(p) for p in c.params],
                "images": images,
                "problems": problems,
            }
        )
    return out


def _sev_points(
    clean: float | None, by_sev: Mapping[str, float | None], sc: float
) -> dict[int, float | None]:
    pts: dict[int, float | None] = {0: None if clean is None else clean * sc}
    for s, v in by_sev.items():
        if s.isdigit():
            pts[int(s)] = None if v is None else v * sc
    return pts


def table_plots(t: Table) -> dict[str, str]:
    """Plot key (as named by the ``plot`` blocks) -> data URI."""
    out: dict[str, str] = {}
    sc = scale_of(t.metric)
    ylabel = f"{t.stat} ({unit_of(t.metric)})"
    labels = [r.label for r in t.rows]
    pj = t.sections.get("per_joint") or {}
    if pj:
        series = {
            lbl: [None if pj[j].get(lbl) is None else pj[j][lbl] * sc for j in pj] for lbl in labels
        }
        out["per_joint"] = data_uri(
            plots.grouped_bars(list(pj), series, title=f"Per-joint {t.stat}", ylabel=ylabel)
        )
    for name, per in (t.sections.get("breakdowns") or {}).items():
        buckets = list(dict.fromkeys(b for row in per.values() for b in row))
        series = {
            lbl: [None if row.get(b) is None else row[b] * sc for b in buckets]
            for lbl, row in per.items()
        }
        out[f"breakdown:{name}"] = data_uri(
            plots.grouped_bars(
                buckets,
                series,
                title=f"{t.stat} by {name}",
                ylabel=ylabel,
                width=6.5,
                height=3.4,
                rotate=False,
            )
        )
    rob = t.sections.get("robustness") or {}
    if rob:
        lines = {}
        for label, per in rob.items():
            s = per.get(t.metric)
            if s:
                lines[label] = _sev_points(s["clean"], s["by_severity"], sc)
        if lines:
            out["severity"] = data_uri(
                plots.severity_curves(
                    lines, title=f"{t.stat} versus severity (mean over conditions)", ylabel=ylabel
                )
            )
        for label, per in rob.items():
            for metric, s in per.items():
                msc = scale_of(metric)
                cond_lines = {
                    n: _sev_points(s["clean"], {k: v for k, v in d.items() if k != "mean"}, msc)
                    for n, d in s["by_condition"].items()
                }
                if cond_lines:
                    out[f"conditions:{label}:{metric}"] = data_uri(
                        plots.severity_curves(
                            cond_lines,
                            title=f"{label}: {metric}",
                            ylabel=f"{headline_stat(metric, None)} ({unit_of(metric)})",
                            mean=_sev_points(s["clean"], s["by_severity"], msc),
                        )
                    )
    return out


# ----------------------------------------------------------------------------------- render


def _cells(b: Block) -> dict[str, Any]:
    """A table block with per-cell sort keys as strings (``""`` for none)."""
    keys = b.get("keys")
    rows = []
    for i, r in enumerate(b["rows"]):
        ks = keys[i] if keys else [None] * len(r)
        rows.append(
            [
                {
                    "text": c,
                    "k": "" if k is None or (isinstance(k, float) and math.isnan(k)) else str(k),
                    "r": a == "r",
                }
                for c, k, a in zip(r, ks, b["align"], strict=True)
            ]
        )
    return {**b, "cells": rows}


def render(
    tables: Sequence[Table],
    title: str,
    notes: Sequence[str] = (),
    *,
    data_root: Path | None = None,
    n_examples: int = 4,
    examiner: Sequence[exm.Search] = (),
) -> str:
    """The whole page as a string.

    Args:
        tables: from :func:`posebench.report.leaderboard.build_tables`.
        title: the page title.
        notes: report-wide notes (e.g. separated signatures).
        data_root: where to find dataset images for the examples (default: each run's root).
        n_examples: worst clean images shown per run (0: none).
        examiner: failure searches (:func:`posebench.report.examiner.sections`), each a
            section with its gallery after the tables.
    """
    try:
        import jinja2
        import markupsafe
    except ModuleNotFoundError:
        raise InputError(
            "the HTML report needs jinja2 and matplotlib: pip install 'posebench[report]'",
            field="--format",
        ) from None
    cache: dict[Any, Any] = {}
    sections = []
    missing: list[str] = []
    for t in tables:
        blocks = [_cells(b) if b["type"] == "table" else b for b in table_blocks(t)]
        for b in blocks:
            if b["type"] == "details":
                b["table"] = _cells(b["table"])
        figs = table_plots(t)
        curves: dict[str, dict[str, np.ndarray]] = {}
        recall = None
        for row, run in zip(t.rows, t.runs, strict=True):
            pr = pr_curve(run, t.metric)
            if pr is not None:
                recall = pr.pop("recall")
                curves[row.label] = pr
        if curves and recall is not None:
            figs["pr"] = data_uri(plots.pr_curves(recall, curves, title="clean"))
        ex = []
        for row, run in zip(t.rows, t.runs, strict=True):
            figures = examples(run, t.metric, n_examples, data_root, cache)
            if figures:
                ex.append({"label": row.label, "figures": figures})
            elif n_examples > 0 and _has_matches(t.metric):
                missing.append(row.label)
        sections.append({"table": t, "blocks": blocks, "plots": figs, "examples": ex})
    for search in examiner:
        blocks = []
        for b in examiner_blocks(search):
            if b["type"] == "table":
                b = _cells(b)
            elif b["type"] == "gallery":
                b = {"type": "gallery", "cards": gallery_cards(b["cards"])}
            blocks.append(b)
        sections.append({"table": None, "blocks": blocks, "plots": {}, "examples": []})
    page_notes = list(notes)
    if missing:
        page_notes.append(
            "no example images for "
            + ", ".join(sorted(set(missing)))
            + " (the run kept no predictions/clean.npz, or its dataset images are not here)"
        )
    template = (resources.files("posebench.report") / "templates" / "report.html.j2").read_text(
        encoding="utf-8"
    )
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    csp = (
        "default-src 'none'; img-src data:; "
        f"style-src {_csp_hash(STYLE)}; script-src {_csp_hash(SORT_SCRIPT)}; "
        "base-uri 'none'; form-action 'none'"
    )
    return env.from_string(template).render(
        title=title,
        intro=intro(tables, len(examiner)),
        notes=page_notes,
        sections=sections,
        style=markupsafe.Markup(STYLE),
        script=markupsafe.Markup(SORT_SCRIPT),
        csp=csp,
    )
