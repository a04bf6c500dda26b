"""GitHub-flavoured Markdown leaderboard, for READMEs and pull-request comments.

Deterministic: the same runs give the same bytes (no time of generation; the only dates are the
runs' own ``created``), so the output can be pinned as a golden file. Numbers are formatted one
way throughout (:mod:`posebench.report.leaderboard`: OKS as percentages with one decimal, 95%
intervals in brackets). Text that comes from a run (model names, arguments, paths) is escaped so
that it shows as text: ``|`` cannot break a table and ``<script>`` is printed, not interpreted.
Long per-condition tables sit in ``<details>`` blocks, which GitHub folds.

Failure searches (``posebench examine`` runs) follow the tables, one section each
(:func:`examiner_blocks`); their gallery links each image relative to the folder the Markdown
file is written to (``render(..., base=)``), percent-encoded so that a folder name cannot break
the link.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from posebench.metrics import table as metric_table
from posebench.report import examiner as exm
from posebench.report.leaderboard import (
    BREAKDOWN_TITLES,
    Table,
    fmt_boxes,
    fmt_ci,
    fmt_date,
    fmt_ratio,
    fmt_throughput,
    fmt_value,
    metric_label,
    unit_of,
)


def esc(text: object) -> str:
    """Text safe inside a GFM table cell: HTML-escaped, pipes and newlines neutralised."""
    s = str(text)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = s.replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    # no emphasis, code spans or links from run text (names with "_" stay readable: GFM
    # never emphasises inside a word)
    return s.replace("`", "\\`").replace("*", "\\*").replace("](", "]\\(")


def code(text: object) -> str:
    """Inline code span that survives backticks inside ``text``."""
    s = str(text).replace("\n", " ")
    fence = "``" if "`" in s else "`"
    return f"{fence} {s} {fence}" if fence == "``" else f"`{s}`"


Block = dict[str, Any]


def _tbl(
    head: Sequence[str],
    rows: Sequence[Sequence[str]],
    align: Sequence[str],
    keys: Sequence[Sequence[float | str | None]] | None = None,
    sortable: bool = False,
) -> Block:
    """A table block: raw (unescaped) cell text; ``keys`` are per-cell sort keys (HTML)."""
    return {
        "type": "table",
        "head": list(head),
        "rows": [list(r) for r in rows],
        "align": list(align),
        "keys": [list(k) for k in keys] if keys is not None else None,
        "sortable": sortable,
    }


def _heading(level: int, text: str) -> Block:
    return {"type": "heading", "level": level, "text": text}


def _text(text: str) -> Block:
    return {"type": "text", "text": text}


def _key(v: float | None, scale: float = 1.0) -> float | None:
    return None if v is None or v != v else round(v * scale, 6)


def leaderboard_block(t: Table) -> Block:
    """The ranked rows of one table (sortable in HTML)."""
    from posebench.report.leaderboard import scale_of

    sc = scale_of(t.metric)
    robust = any(r.mpc is not None or r.mrr is not None for r in t.rows)
    reported = any(r.reported is not None for r in t.rows)
    unit = unit_of(t.metric)
    throughput = not t.fakes and any(r.throughput is not None for r in t.rows)
    head = ["Rank", "Model", f"{t.stat} ({unit}) [95% CI]"]
    align = ["r", "l", "r"]
    if reported:
        head += [f"Reported {t.stat} ({unit})", "Reported on"]
        align += ["r", "l"]
    if robust:
        head += ["mPC", "rPC (%)", "mRR (%)"]
        align += ["r", "r", "r"]
    if throughput:
        head.append("img/s")
        align.append("r")
    head += ["Boxes", "Architecture", "Input", "Date"]
    align += ["l", "l", "l", "l"]
    rows, keys = [], []
    for r in t.rows:
        cells = [
            str(r.rank) if r.rank is not None else "—",
            r.label,
            fmt_ci(r.value, r.low, r.high, t.metric),
        ]
        k: list[float | str | None] = [r.rank, r.label, _key(r.value, sc)]
        if reported:
            on = r.reported_on or ("a --reported file" if r.reported_source == "file" else "—")
            cells += [fmt_value(r.reported, t.metric), on if r.reported is not None else "—"]
            k += [_key(r.reported, sc), on]
        if robust:
            cells += [fmt_value(r.mpc, t.metric), fmt_ratio(r.rpc), fmt_ratio(r.mrr)]
            k += [_key(r.mpc, sc), _key(r.rpc), _key(r.mrr)]
        if throughput:
            cells.append(fmt_throughput(r.throughput))
            k.append(_key(r.throughput))
        boxes = fmt_boxes(r.box_source, {"label": r.boxes_from})
        cells += [boxes, r.architecture, r.input_size, fmt_date(r.created)]
        k += [boxes, r.architecture, r.input_size, r.created]
        rows.append(cells)
        keys.append(k)
    return _tbl(head, rows, align, keys, sortable=True)


def _ci_section(t: Table) -> list[Block]:
    ci = t.sections.get("ci") or {}
    stats = list(dict.fromkeys(s for per in ci.values() for s in per))
    if not stats:
        return []
    rows = [
        [label]
        + [
            fmt_ci(
                (per.get(s) or {}).get("estimate"),
                (per.get(s) or {}).get("low"),
                (per.get(s) or {}).get("high"),
                t.metric,
            )
            for s in stats
        ]
        for label, per in ci.items()
    ]
    # RobustBench style: the authors' numbers (on their dataset) under the measured ones
    from posebench.report.leaderboard import reported_values

    for row, run in zip(t.rows, t.runs, strict=True):
        rep = reported_values(run, t.metric, stats)
        if row.reported_on and any(v is not None for v in rep.values()):
            rows.append(
                [f"{row.label}: reported on {row.reported_on}"]
                + [fmt_value(rep[s], t.metric) for s in stats]
            )
    out = [
        _heading(3, "Confidence intervals"),
        _tbl(["Model", *stats], rows, ["l"] + ["r"] * len(stats)),
    ]
    n_boot = sorted({r.n_boot for r in t.rows if r.n_boot})
    conf = sorted({r.confidence for r in t.rows if r.confidence})
    if n_boot:
        pct = f"{100 * conf[0]:g}%" if len(conf) == 1 and conf[0] else "95%"
        out.append(
            _text(
                f"{pct} percentile bootstrap intervals over images "
                f"({', '.join(str(n) for n in n_boot)} replicates)."
            )
        )
    return out


def _per_joint_section(t: Table) -> list[Block]:
    pj = t.sections.get("per_joint") or {}
    if not pj:
        return []
    labels = [r.label for r in t.rows]
    rows = [[j] + [fmt_value(vals.get(lbl), t.metric) for lbl in labels] for j, vals in pj.items()]
    row = metric_table.row_for_key(t.metric)
    title = "Per joint" if row is None else row.per_joint_title
    return [
        _heading(3, title),
        {"type": "plot", "plot": "per_joint"},
        _tbl(["Joint", *labels], rows, ["l"] + ["r"] * len(labels)),
    ]


def _breakdown_section(t: Table) -> list[Block]:
    bds = t.sections.get("breakdowns") or {}
    if not bds:
        return []
    out = [_heading(3, f"Breakdowns ({t.stat})")]
    for name, per in bds.items():
        buckets = list(dict.fromkeys(b for row in per.values() for b in row))
        rows = [
            [label] + [fmt_value(row.get(b), t.metric) for b in buckets]
            for label, row in per.items()
        ]
        out += [
            _heading(4, BREAKDOWN_TITLES.get(name, name)),
            {"type": "plot", "plot": f"breakdown:{name}"},
            _tbl(["Model", *buckets], rows, ["l"] + ["r"] * len(buckets)),
        ]
    return out


def _severities(rob: dict[str, Any]) -> list[str]:
    sev = {s for per in rob.values() for m in per.values() for s in m.get("by_severity", {})}
    return sorted(sev, key=lambda s: (len(s), s))


def _robustness_section(t: Table) -> list[Block]:
    rob = t.sections.get("robustness") or {}
    if not rob:
        return []
    sevs = _severities(rob)
    rows = []
    errors = any(not s.get("higher_is_better", True) for per in rob.values() for s in per.values())
    for label, per in rob.items():
        for metric, s in per.items():
            name = label if metric == t.metric else f"{label} ({metric_label(metric)})"
            tail = (
                [fmt_value(s["mPC"], metric), fmt_ratio(s["rPC"]), fmt_ratio(s["mRR"])]
                if s.get("higher_is_better", True)
                else [fmt_value(s.get("mE"), metric), fmt_ratio(s.get("rE")), "—"]
            )
            rows.append(
                [name, fmt_value(s["clean"], metric)]
                + [fmt_value(s["by_severity"].get(x), metric) for x in sevs]
                + tail
            )
    head = ["Model", "clean", *(f"s{x}" for x in sevs)]
    head += ["mPC / mE", "rPC / rE (%)", "mRR (%)"] if errors else ["mPC", "rPC (%)", "mRR (%)"]
    text = (
        "Mean over the conditions at each severity. mPC: mean over the 15 benchmark "
        "corruptions x severities (COCO-C); rPC = mPC / clean; mRR: mean of condition / "
        "clean over every stressed condition."
    )
    if errors:
        text += (
            " Error metrics (lower is better): mE, the mean error over the same corruptions x "
            "severities, and rE = mE / clean (the corruption-error ratio of Hendrycks & "
            "Dietterich, normalised by the model's own clean error)."
        )
    out = [
        _heading(3, f"Robustness versus severity ({t.stat})"),
        _text(text),
        {"type": "plot", "plot": "severity"},
        _tbl(head, rows, ["l"] + ["r"] * (len(head) - 1)),
    ]
    for label, per in rob.items():
        for metric, s in per.items():
            conds = s["by_condition"]
            if not conds:
                continue
            kinds = s.get("kinds") or {}
            crow = [
                [n, kinds.get(n, ""), fmt_value(d.get("mean"), metric)]
                + [fmt_value(d.get(x), metric) for x in sevs]
                for n, d in conds.items()
            ]
            out.append(
                {
                    "type": "details",
                    "summary": f"{label}: {metric_label(metric)} by condition",
                    "plot": f"conditions:{label}:{metric}",
                    "table": _tbl(
                        ["Condition", "Kind", "mean", *(f"s{x}" for x in sevs)],
                        crow,
                        ["l", "l"] + ["r"] * (1 + len(sevs)),
                    ),
                }
            )
    return out


def _error_section(t: Table) -> list[Block]:
    errs = t.sections.get("error_analysis") or {}
    if not errs:
        return []
    types = list(dict.fromkeys(k for e in errs.values() for k in (e.get("shares") or {})))
    gains = list(dict.fromkeys(k for e in errs.values() for k in (e.get("AP_gain") or {})))
    rows = [
        [label]
        + [fmt_ratio((e.get("shares") or {}).get(k)) for k in types]
        + [fmt_value((e.get("AP_gain") or {}).get(k), t.metric) for k in gains]
        for label, e in errs.items()
    ]
    head = ["Model", *(f"{k} (%)" for k in types), *(f"AP gain: {k}" for k in gains)]
    return [
        _heading(3, "Error analysis (Ronchi and Perona 2017)"),
        _text(
            "Share of matched keypoints by error type, and the AP gained when each error type "
            "is corrected."
        ),
        _tbl(head, rows, ["l"] + ["r"] * (len(head) - 1)),
    ]


def _runs_block(t: Table) -> Block:
    """Provenance of each row: run folder (its name), weights, posebench version, created."""
    rows = []
    for r, run in zip(t.rows, t.runs, strict=True):
        pb = run.results.get("posebench") or {}
        git = pb.get("git")
        rows.append(
            [
                r.label,
                run.path.name,
                r.weights,
                f"{pb.get('version', '?')}" + (f" ({git})" if git else ""),
                r.created or "—",
            ]
        )
    return {
        "type": "details",
        "summary": "Runs",
        "plot": None,
        "table": _tbl(["Model", "Run", "Weights", "posebench", "Created"], rows, ["l"] * 5),
    }


def _legend(t: Table) -> list[Block]:
    """What the Reported and img/s columns mean, under a table that has them."""
    out = []
    if any(r.reported is not None for r in t.rows):
        out.append(
            _text(
                f"Reported: the {t.stat} the model's authors published, on the dataset named "
                "beside it (not this one), next to the number measured here."
            )
        )
    if not t.fakes and any(r.throughput is not None for r in t.rows):
        cpus = sorted(
            {
                str(((run.results.get("throughput") or {}).get("machine") or {}).get("cpu") or "")
                for run in t.runs
            }
            - {""}
        )
        where = f" ({'; '.join(cpus)})" if cpus else ""
        out.append(
            _text(
                "img/s: images per second through the model's predict call (pre- and "
                "post-processing included; conditions and evaluation excluded), measured during "
                f"the run on its machine{where}."
            )
        )
    return out


def table_blocks(t: Table) -> list[Block]:
    """One table's document: heading, signature, leaderboard, notes, then its sections.

    Blocks are dicts with raw text (``heading``, ``text``, ``signature``, ``note``, ``table``,
    ``details``, ``plot``); the Markdown and HTML renderers escape as their format needs.
    """
    blocks: list[Block] = [
        _heading(2, t.title),
        {
            "type": "signature",
            "signature": t.signature,
            "text": f"ranked by {t.stat} ({'higher' if t.higher_is_better else 'lower'} is better)",
        },
        leaderboard_block(t),
    ]
    blocks += [{"type": "note", "text": n} for n in t.notes]
    blocks += _legend(t)
    blocks.append(_runs_block(t))
    blocks += _ci_section(t)
    blocks += _per_joint_section(t)
    blocks += _breakdown_section(t)
    blocks += _robustness_section(t)
    blocks += _error_section(t)
    return blocks


def _stat(v: Any, digits: int) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "—"
    return f"{v:.{digits}f}" if digits else str(int(v))


def examiner_blocks(s: exm.Search) -> list[Block]:
    """One failure search's document: heading, the search and its summary, then the gallery
    (a ``gallery`` block: one card per failure mode, worst first)."""
    dims = ", ".join(f"{g} {n}" for g, n in s.dimensions.items())
    n_dims = sum(s.dimensions.values())
    queries = "—" if s.queries is None else str(s.queries)
    if s.budget is not None:
        queries += f" of {s.budget}"
    summary = _tbl(
        [
            "Model",
            "Body",
            "Agents",
            "Queries",
            "Seed",
            "Failure",
            "Success rate",
            "NormGap",
            "NormGap pose (rad)",
            "Mean width",
        ],
        [
            [
                s.label,
                f"{s.body} ({s.image_size})",
                str(s.agents),
                queries,
                "—" if s.seed is None else str(s.seed),
                exm.fmt_failure(s),
                exm.fmt_success(s),
                exm.fmt_num(s.norm_gap),
                exm.fmt_num(s.norm_gap_rad),
                exm.fmt_num(s.mean_width),
            ]
        ],
        ["l", "l", "r", "r", "r", "l", "r", "r", "r", "r"],
    )
    blocks: list[Block] = [
        _heading(2, f"Failure search · {s.label}"),
        _text(
            f"posebench examine on rendered bodies ({s.architecture}; {n_dims} searched "
            f"dimensions: {dims or 'not recorded'}; {s.device}). Success rate: agents that "
            "found a failure. Region size as PoseExaminer reports it, mean over the failure "
            "regions: NormGap, the L2 norm of a region's widths with every dimension as a "
            "fraction of its range, and over the pose dimensions in radians; mean width: the "
            "mean fraction."
        ),
        summary,
    ]
    blocks.append(_text(f"Body and scene settings: {s.settings}"))
    if s.stats:
        blocks.append(_heading(3, "Search beside uniform random search at the same budget"))
        rows = []
        radius = s.stats.get("mode_radius")
        for label, key, digits in (
            ("queries", "queries", 0),
            ("failures", "failures", 0),
            ("failures per query", "failures_per_query", 4),
            (f"distinct failure modes (dedup radius {radius})", "distinct_modes", 0),
            ("queries to first failure", "queries_to_first_failure", 0),
            ("agents with a failure", "agents_with_failure", 0),
        ):
            rows.append([label, _stat(s.stats.get(key), digits),
                         _stat(s.baseline.get(key), digits) if s.baseline else "—"])  # fmt: skip
        its = s.stats.get("iterations_per_agent") or []
        rows.append(["iterations per agent", " ".join(str(i) for i in its) or "—", "—"])
        scout = s.stats.get("scout_failure_rate")
        if isinstance(scout, (int, float)) and math.isfinite(scout):
            rows.append(["uniform scout scenes that fail (regime)",
                         f"{100 * scout:.0f}% ({s.stats.get('regime', '?')})", "—"])  # fmt: skip
        if s.calibration_failure_rate is not None:
            rows.append(["calibration scenes over the threshold",
                         f"{100 * s.calibration_failure_rate:.0f}%", "—"])  # fmt: skip
        blocks.append(_tbl(["", s.method, "random"], rows, ["l", "r", "r"]))
    blocks += [{"type": "note", "text": n} for n in s.notes]
    words = [c for c in s.cards if c.description]
    if words:
        blocks.append(_heading(3, "Failure modes in words, checked on real photos"))
        rows = []
        for c in words:
            checks = "; ".join(
                f"{pc.get('dataset')}: {pc.get('in_mode')} people in mode"
                f" ({', '.join(f'{k} {v}' for k, v in (pc.get('matched_on') or {}).items())})"
                ", OKS "
                f"{_stat(pc.get('oks_in_mode'), 3)} vs {_stat(pc.get('oks_rest'), 3)} on "
                f"{pc.get('rest')} others" + (" (holds)" if pc.get("holds") else "")
                for pc in c.photo_checks
            )
            ev = "—" if c.evidence is None else ("yes" if c.evidence else "no")
            rows.append([str(c.rank), c.description or "", ev, checks or "—"])
        blocks.append(_tbl(["#", "Mode", "Region evidence", "Real photos (model's OKS)"],
                           rows, ["r", "l", "l", "l"]))  # fmt: skip
    if s.cards:
        blocks.append(_heading(3, "Failure modes, worst first"))
        blocks.append(
            _text(
                "Ground truth green, the model's keypoints red; the region sheet shows four "
                "bodies drawn from the failure region. Parameters: the five furthest from the "
                "ordinary scene's defaults."
            )
        )
        blocks.append({"type": "gallery", "run": s.run, "cards": list(s.cards)})
    return blocks


def _image_link(path: Path, base: Path | None) -> str:
    """A Markdown image target for ``path``: relative to ``base`` (the output file's folder;
    the working directory when None), percent-encoded so that spaces, brackets or ``<`` in a
    folder name cannot end the link."""
    start = (base or Path.cwd()).resolve()
    try:
        rel = Path(os.path.relpath(path, start)).as_posix()
    except ValueError:  # another drive (Windows): no relative path
        return path.as_uri()
    return quote(rel, safe="/")


def _md_gallery(b: Block, base: Path | None) -> str:
    lines = [
        "| # | Failure | Error | Region failure rate | NormGap | Furthest from default |",
        "| ---: | :--- | ---: | ---: | ---: | :--- |",
    ]
    for c in b["cards"]:
        pics = []
        for kind, file, problem in (
            ("", c.image_file, c.image_problem),
            (" region", c.region_file, c.region_problem),
        ):
            if file is not None:
                pics.append(f"![agent {c.agent}{kind}]({_image_link(file, base)})")
            elif problem:
                pics.append(esc(problem))
        params = "<br>".join(esc(exm.fmt_param(p)) for p in c.params) or "—"
        cells = [
            str(c.rank),
            f"agent {c.agent}<br>" + " ".join(pics),
            esc(exm.fmt_error(c)),
            esc(exm.fmt_rate(c)),
            esc(exm.fmt_num(c.norm_gap)),
            params,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _md_table(b: Block) -> str:
    marks = {"l": ":---", "r": "---:", "c": ":---:"}
    lines = [
        "| " + " | ".join(esc(h) for h in b["head"]) + " |",
        "| " + " | ".join(marks[a] for a in b["align"]) + " |",
    ]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in b["rows"]]
    return "\n".join(lines)


def render_blocks(blocks: Sequence[Block], base: Path | None = None) -> str:
    """Blocks as Markdown (plots are left out: Markdown carries the numbers; gallery images
    are linked relative to ``base``, see :func:`_image_link`)."""
    parts = []
    for b in blocks:
        kind = b["type"]
        if kind == "heading":
            parts.append("#" * int(b["level"]) + " " + esc(b["text"]))
        elif kind == "text":
            parts.append(esc(b["text"]))
        elif kind == "note":
            parts.append("> " + esc(b["text"]))
        elif kind == "signature":
            parts.append(f"Signature: {code(b['signature'])} · {esc(b['text'])}")
        elif kind == "table":
            parts.append(_md_table(b))
        elif kind == "details":
            parts.append(
                f"<details><summary>{esc(b['summary'])}</summary>\n\n"
                f"{_md_table(b['table'])}\n\n</details>"
            )
        elif kind == "gallery":
            parts.append(_md_gallery(b, base))
    return "\n\n".join(parts)


def intro(tables: Sequence[Table], searches: int = 0) -> str:
    """The sentence under the title (``searches``: failure searches shown after the tables)."""
    n_runs = sum(len(t.rows) for t in tables)
    parts = []
    if tables or not searches:
        parts.append(
            f"{n_runs} run{'s' if n_runs != 1 else ''} in {len(tables)} "
            f"table{'s' if len(tables) != 1 else ''}; runs are ranked together only when their "
            "suite, dataset and headline signature agree."
        )
        if len({t.protocol for t in tables}) > 1:
            parts.append(
                "Models on GT person boxes are ranked apart from models that find people "
                "themselves (detected people: bottom-up, or top-down on detector boxes)."
            )
        if any(t.fakes for t in tables):
            parts.append(
                "Calibrated fakes (the ground truth, perturbed) have their own tables, after "
                "the real models."
            )
    if searches:
        parts.append(
            f"{searches} failure search{'es' if searches != 1 else ''} (posebench examine), "
            f"not ranked{', after the tables' if tables else ''}."
        )
    parts.append("Generated by posebench report.")
    return " ".join(parts)


def render(
    tables: Sequence[Table],
    title: str,
    notes: Sequence[str] = (),
    *,
    examiner: Sequence[exm.Search] = (),
    base: Path | None = None,
) -> str:
    """The whole Markdown report (ends with a newline).

    Args:
        tables: from :func:`posebench.report.leaderboard.build_tables`.
        title: the report title.
        notes: report-wide notes (e.g. separated signatures).
        examiner: failure searches (:func:`posebench.report.examiner.sections`), each a
            section after the tables.
        base: the folder the Markdown file is written to; gallery images are linked relative
            to it (default: the working directory).
    """
    parts = [f"# {esc(title)}", esc(intro(tables, len(examiner)))]
    parts += [f"> {esc(n)}" for n in notes]
    parts += [render_blocks(table_blocks(t)) for t in tables]
    parts += [render_blocks(examiner_blocks(s), base) for s in examiner]
    return "\n\n".join(parts) + "\n"
