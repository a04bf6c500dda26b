"""Run folders -> leaderboard tables: rows, ranks, and the per-suite sections beside them.

A *table* holds the runs whose headline numbers mean the same thing: the same suite, dataset,
number of images and headline signature (every part but the posebench version, as
:func:`posebench.signature.signature_differences` compares them). Runs whose signatures differ are
never ranked against each other; they land in separate tables, and the report says why.

Comparable protocols (as in the papers): a top-down model scored on ground-truth person boxes
is spared the detection problem, so its AP is not comparable with that of a model that finds
people itself. Runs on GT boxes (``boxes:gt``) form their own tables; bottom-up runs
(``boxes:none``) and top-down runs on detector boxes (``boxes:detector``, or boxes from a file or
another model's run, ``boxes:file-<digest>``) are ranked together, each row naming its box source.
The calibrated fakes (``oracle``, ``jitter``: the ground truth, perturbed) are never ranked beside
real models: they form their own tables, labelled as such, after the real ones.

Conventions (those of pose estimation papers):

- the rank follows the headline metric in its direction (``higher_is_better``); values equal at
  the displayed precision (one decimal of a percentage) share a rank, the next rank skips
  ("1, 1, 3"); a run without a headline value is listed last, unranked;
- OKS AP/AR, mPC and the keypoint similarity of occluded keypoints (fractions,
  :data:`FRACTION_FAMILIES`) are shown as percentages with one decimal (``71.3``); rPC and mRR as
  percentages of the clean value; PCK-family values are already percentages; MPJPE is in mm;
- the 95% bootstrap interval follows its estimate: ``71.3 [70.1, 72.4]``;
- the number the model's authors reported (``adapter.info.reported`` or a ``--reported`` file)
  sits beside the number measured here, with the dataset they measured it on
  (``adapter.info.reported_on``), RobustBench style;
- throughput is the run's images per second through ``adapter.predict`` (conditions and
  evaluation excluded) on the machine recorded in the run.

Failure searches (``posebench examine`` run folders, :func:`is_examiner`) have no headline and
are never ranked: :func:`build_tables` leaves them out and :mod:`posebench.report.examiner` makes
their sections.

Everything in this module is plain data (dicts, dataclasses); :mod:`posebench.report.markdown`,
:mod:`posebench.report.html` and :mod:`posebench.report.modelindex` render it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posebench.errors import InputError
from posebench.metrics import table as metric_table
from posebench.robustness import headline_for
from posebench.signature import parse_signature, signature_differences

if TYPE_CHECKING:
    from posebench.report.examiner import Search

#: adapters whose "predictions" are the ground truth, perturbed: shown in their own tables.
FAKE_ADAPTERS = frozenset({"oracle", "jitter"})

#: protocol -> how a table title names it.
PROTOCOL_TITLES = {
    "gt": "GT person boxes",
    "detected": "detected people",
}

#: breakdown names in display order, with their section titles.
BREAKDOWN_TITLES = {
    "crowd": "Crowd index",
    "size": "Person size",
    "keypoints": "Labelled keypoints",
}


@dataclass(frozen=True)
class Run:
    """One run folder: its path and its ``results.json``."""

    path: Path
    results: dict[str, Any]

    @property
    def file(self) -> str:
        """The results file, for error messages."""
        return str(self.path / "results.json")


@dataclass(frozen=True)
class Row:
    """One leaderboard line.

    Values are in the metric's own units (OKS AP as a fraction, PCKh in percent, MPJPE in mm);
    :func:`fmt_value` scales them for display. ``None`` where a run has no such number.
    """

    rank: int | None
    label: str
    model: str
    adapter: str
    architecture: str
    input_size: str
    weights: str
    box_source: str
    boxes_from: str | None
    metric: str
    stat: str
    value: float | None
    low: float | None
    high: float | None
    confidence: float | None
    n_boot: int | None
    higher_is_better: bool
    mpc: float | None
    rpc: float | None
    mrr: float | None
    reported: float | None
    reported_source: str | None
    reported_on: str | None
    throughput: float | None
    signature: str
    version: str
    created: str
    run: str

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Table:
    """The runs ranked together, with the sections shown below their leaderboard.

    Attributes:
        suite, dataset, images: what was evaluated.
        signature: the headline signature shared by every row (the first row's, versions aside).
        metric, stat: the headline metric key and statistic (``oks``, ``AP``).
        higher_is_better: the ranking direction.
        rows: ranked rows (best first).
        runs: the runs of ``rows``, in the same order.
        notes: things a reader must know (versions that differ, unranked runs).
        sections: per-joint, breakdowns, confidence intervals, robustness, error analysis
            (see :func:`sections`).
        protocol: ``gt`` (GT person boxes) or ``detected`` (see :func:`protocol_of`).
        fakes: True for a table of calibrated fakes (:data:`FAKE_ADAPTERS`).
    """

    suite: str
    dataset: str
    images: int
    signature: str
    metric: str
    stat: str
    higher_is_better: bool
    rows: list[Row]
    runs: list[Run]
    notes: list[str] = field(default_factory=list)
    sections: dict[str, Any] = field(default_factory=dict)
    protocol: str = ""
    fakes: bool = False

    @property
    def title(self) -> str:
        base = f"{self.suite} · {self.dataset} ({self.images} images)"
        if self.protocol in PROTOCOL_TITLES:
            base += f" · {PROTOCOL_TITLES[self.protocol]}"
        return base + (" · calibrated fakes (ground truth, perturbed)" if self.fakes else "")

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (rows and sections as data)."""
        return {
            "suite": self.suite,
            "dataset": self.dataset,
            "images": self.images,
            "signature": self.signature,
            "metric": self.metric,
            "stat": self.stat,
            "higher_is_better": self.higher_is_better,
            "protocol": self.protocol,
            "fakes": self.fakes,
            "notes": list(self.notes),
            "rows": [r.to_json() for r in self.rows],
            "sections": self.sections,
        }


# ------------------------------------------------------------------------------------ reading


def _need(
    d: Any, key: str, kind: type | tuple[type, ...], file: str, record: str | None = None
) -> Any:
    v = d.get(key) if isinstance(d, dict) else None
    if not isinstance(v, kind):
        what = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise InputError(
            f"expected {what}, got {type(v).__name__ if v is not None else 'nothing'}",
            file=file,
            record=record,
            field=key,
        )
    return v


def is_examiner(results: Mapping[str, Any]) -> bool:
    """Whether a run is a failure search (``posebench examine``: an ``examiner`` section, no
    conditions): shown in its own section, never ranked."""
    return "examiner" in results


def load_run(path: Path) -> Run:
    """Read and check one run folder (or its ``results.json``).

    A failure search (``posebench examine``) is checked by
    :func:`posebench.report.examiner.check_examiner` instead of the leaderboard's fields.

    Raises:
        InputError: not a run folder, another schema, or a results file without the fields a
            report needs (naming the file, the condition and the field).
    """
    from posebench.results import read_results_json

    p = Path(path)
    folder = p.parent if p.is_file() else p
    data = read_results_json(p)
    run = Run(folder, data)
    file = run.file if p.is_dir() else str(p)
    adapter = _need(data, "adapter", dict, file)
    _need(adapter, "name", str, file, "adapter")
    if "examiner" in data:
        from posebench.report.examiner import check_examiner

        check_examiner(data, file)
        return run
    conds = _need(data, "conditions", dict, file)
    if not conds:
        raise InputError("a run without conditions", file=file, field="conditions")
    for key, c in conds.items():
        rec = f"condition {key!r}"
        metrics = _need(c, "metrics", dict, file, rec)
        for mk, block in metrics.items():
            _need(block, "values", dict, file, f"{rec}, metric {mk!r}")
            _need(block, "signature", str, file, f"{rec}, metric {mk!r}")
    head = data.get("headline")
    if head is not None and not isinstance(head, str):
        raise InputError("expected a metric key", file=file, field="headline")
    return run


def load_runs(paths: Sequence[Path]) -> list[Run]:
    """:func:`load_run` on each path, in order; InputError when there are none."""
    if not paths:
        raise InputError("no run folders given", field="RUN")
    return [load_run(Path(p)) for p in paths]


def load_reported(path: Path) -> dict[str, dict[str, float]]:
    """A ``--reported`` file (YAML or JSON): model -> {``[METRIC:]STAT``: value}.

    The model is matched against a run's model name (``jitter(noise=0.05)``), its adapter name
    (``mediapipe``) or its architecture, in that order. OKS values may be fractions (0.758) or
    percentages (75.8): values above 1 are read as percentages.
    """
    import yaml

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("file not found", file=str(p)) from None
    except yaml.YAMLError as e:
        raise InputError(f"not valid YAML/JSON ({e})", file=str(p)) from None
    if not isinstance(data, dict):
        raise InputError("expected a mapping model -> {metric: value}", file=str(p))
    out: dict[str, dict[str, float]] = {}
    for model, metrics in data.items():
        if not isinstance(metrics, dict):
            raise InputError("expected a mapping metric -> value", file=str(p), record=str(model))
        vals: dict[str, float] = {}
        for k, v in metrics.items():
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise InputError(
                    f"expected a number, got {v!r}", file=str(p), record=str(model), field=str(k)
                )
            vals[str(k)] = float(v)
        out[str(model)] = vals
    return out


# ------------------------------------------------------------------------------ run metadata


def model_name(results: Mapping[str, Any]) -> str:
    """The model as the leaderboard names it: the adapter and its arguments,
    ``jitter(noise=0.05, miss=0.1)``; ``mediapipe`` when it has none."""
    adapter = results.get("adapter") or {}
    name = str(adapter.get("name") or "?")
    args = {k: v for k, v in (adapter.get("args") or {}).items() if k not in ("device",)}
    if not args:
        return name
    return f"{name}({', '.join(f'{k}={v}' for k, v in args.items())})"


def headline_key(results: Mapping[str, Any]) -> str:
    """The run's headline metric key (``results.json["headline"]``, else the clean
    condition's first metric)."""
    head = results.get("headline")
    if isinstance(head, str):
        return head
    clean = _clean_condition(results)
    return next(iter(clean.get("metrics", {})), "?") if clean else "?"


def headline_stat(metric: str, block: Mapping[str, Any] | None) -> str:
    """``AP`` for OKS, ``PCKh_joint_avg`` for PCKh... (the metric table's headline); a metric
    without a known one: its first value."""
    stat = headline_for(metric)
    if stat:
        return stat
    values = (block or {}).get("values") or {}
    return next(iter(values), "?")


def metric_label(metric: str) -> str:
    """``keypoints/occluded KS_occluded``: a metric key with the statistic shown for it."""
    return f"{metric} {headline_stat(metric, None)}"


def scale_of(metric: str) -> float:
    """Display factor: fractions (the metric table's unit ``fraction``: OKS AP/AR, the keypoint
    similarity of occluded keypoints) shown as percentages; others as stored."""
    row = metric_table.row_for_key(metric)
    return 100.0 if row is not None and row.unit == "fraction" else 1.0


def unit_of(metric: str) -> str:
    """Unit of the displayed value (``mm`` for the table's millimetre metrics, else ``%``)."""
    row = metric_table.row_for_key(metric)
    return "mm" if row is not None and row.unit == "mm" else "%"


def report_statistics(metric: str, values: Mapping[str, Any]) -> list[str] | None:
    """The statistics reports list for a block of ``metric`` holding ``values``: its row's
    ``report_statistics`` that the block has, in that order; None when the row names none."""
    row = metric_table.row_for_key(metric)
    if row is None or not row.report_statistics:
        return None
    return [s for s in row.report_statistics if s in values]


def _clean_condition(results: Mapping[str, Any]) -> dict[str, Any] | None:
    conds = results.get("conditions") or {}
    if "clean" in conds:
        return dict(conds["clean"])
    for c in conds.values():
        if c.get("kind") == "clean":
            return dict(c)
    return None


def _float(v: Any) -> float | None:
    if v is None or isinstance(v, bool) or not isinstance(v, int | float):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def signature_key(sig: str) -> str:
    """A signature without its version part, and with its box source reduced to the protocol
    (:func:`protocol_of`): what must agree for two numbers to be ranked."""
    metric, parts = parse_signature(sig)
    if "boxes" in parts:
        parts["boxes"] = protocol_of(parts["boxes"])
    body = "|".join(f"{k}:{v}" for k, v in parts.items() if k != "v")
    return f"{metric}|{body}" if body else metric


def protocol_of(box_source: str) -> str:
    """``gt`` for ground-truth person boxes; ``detected`` for every way of finding people
    without them (bottom-up ``none``, ``detector``, ``file-<digest>``).

    >>> [protocol_of(b) for b in ("gt", "none", "detector", "file-0123456789ab")]
    ['gt', 'detected', 'detected', 'detected']
    """
    return "gt" if box_source == "gt" else "detected"


def is_fake(results: Mapping[str, Any]) -> bool:
    """Whether a run's model is a calibrated fake (:data:`FAKE_ADAPTERS`, or an adapter whose
    info says ``extra.fake``)."""
    adapter = results.get("adapter") or {}
    extra = (adapter.get("info") or {}).get("extra") or {}
    return adapter.get("name") in FAKE_ADAPTERS or extra.get("fake") is True


def _input_size(info: Mapping[str, Any]) -> str:
    size = info.get("input_size")
    if isinstance(size, list | tuple) and len(size) == 2:
        return f"{size[0]}×{size[1]}"
    return "—"


def _reported(
    results: Mapping[str, Any],
    model: str,
    metric: str,
    stat: str,
    extra: Mapping[str, Mapping[str, float]] | None,
) -> tuple[float | None, str | None]:
    """The authors' number for (metric, stat): from ``extra`` (a --reported file) first, then
    ``adapter.info.reported``. Keys ``STAT`` or ``METRIC:STAT``."""
    adapter = results.get("adapter") or {}
    info = adapter.get("info") or {}
    candidates: list[tuple[Mapping[str, Any], str]] = []
    if extra:
        for name in (model, adapter.get("name"), info.get("architecture")):
            if isinstance(name, str) and name in extra:
                candidates.append((extra[name], "file"))
                break
    candidates.append((info.get("reported") or {}, "adapter"))
    for table, source in candidates:
        for key in (f"{metric}:{stat}", stat):
            v = _float(table.get(key))
            if v is not None:
                if scale_of(metric) == 100.0 and v > 1.0:
                    v = v / 100.0  # a fraction given as a percentage, as papers print AP
                return v, source
    return None, None


def reported_values(run: Run, metric: str, stats: Sequence[str]) -> dict[str, float | None]:
    """The authors' numbers of a run's model (``adapter.info.reported``) for ``stats`` of
    ``metric`` (None where not reported), OKS as fractions."""
    model = model_name(run.results)
    return {s: _reported(run.results, model, metric, s, None)[0] for s in stats}


# ------------------------------------------------------------------------------------ ranking


def rank(
    values: Sequence[float | None], higher_is_better: bool, decimals: int = 1, scale: float = 1.0
) -> list[int | None]:
    """Competition ranks ("1, 1, 3") of ``values``; ties are values equal at the displayed
    precision (``round(v * scale, decimals)``); ``None``/NaN: unranked (None).

    >>> rank([0.7, 0.71, 0.7, None], higher_is_better=True, scale=100)
    [2, 1, 2, None]
    >>> rank([50.0, 40.0, 40.0], higher_is_better=False)
    [3, 1, 1]
    """
    keys: list[float | None] = []
    for v in values:
        f = _float(v)
        keys.append(None if f is None else round(f * scale, decimals))
    sign = -1.0 if higher_is_better else 1.0
    out: list[int | None] = []
    for k in keys:
        if k is None:
            out.append(None)
            continue
        better = sum(1 for o in keys if o is not None and sign * o < sign * k)
        out.append(better + 1)
    return out


# ------------------------------------------------------------------------------------ tables


def _group_key(run: Run) -> tuple[bool, str, str, int, str, str]:
    r = run.results
    metric = headline_key(r)
    clean = _clean_condition(r) or {}
    block = (clean.get("metrics") or {}).get(metric) or {}
    suite = str((r.get("suite") or {}).get("name") or "?")
    ds = r.get("dataset") or {}
    return (
        is_fake(r),
        suite,
        str(ds.get("name") or "?"),
        int(ds.get("images") or 0),
        signature_key(str(block.get("signature") or metric)),
        metric,
    )


def make_row(run: Run, reported: Mapping[str, Mapping[str, float]] | None = None) -> Row:
    """The leaderboard row of one run (unranked: rank None)."""
    r = run.results
    adapter = r.get("adapter") or {}
    info = adapter.get("info") or {}
    metric = headline_key(r)
    clean = _clean_condition(r) or {}
    block = (clean.get("metrics") or {}).get(metric) or {}
    stat = headline_stat(metric, block)
    value = _float((block.get("values") or {}).get(stat))
    ci = (block.get("ci") or {}).get(stat) or {}
    summ = (r.get("summary") or {}).get(metric) or {}
    model = model_name(r)
    rep, rep_src = _reported(r, model, metric, stat, reported)
    box = str(r.get("box_source") or info.get("box_source") or "?")
    throughput = (r.get("throughput") or {}).get("images_per_second")
    return Row(
        rank=None,
        label=model,
        model=model,
        adapter=str(adapter.get("name") or "?"),
        architecture=str(info.get("architecture") or "—"),
        input_size=_input_size(info),
        weights=str(info.get("weights") or "—"),
        box_source=box,
        boxes_from=str((r.get("boxes_from") or {}).get("label") or "") or None,
        metric=metric,
        stat=stat,
        value=value,
        low=_float(ci.get("low")),
        high=_float(ci.get("high")),
        confidence=_float(ci.get("confidence")),
        n_boot=int(ci["n_boot"]) if isinstance(ci.get("n_boot"), int) else None,
        higher_is_better=bool(block.get("higher_is_better", True)),
        mpc=_float(summ.get("mPC")),
        rpc=_float(summ.get("rPC")),
        mrr=_float(summ.get("mRR")),
        reported=rep,
        reported_source=rep_src,
        reported_on=(str(info.get("reported_on") or "") or None) if rep_src == "adapter" else None,
        throughput=_float(throughput),
        signature=str(block.get("signature") or ""),
        version=str((r.get("posebench") or {}).get("version") or "?"),
        created=str(r.get("created") or ""),
        run=str(run.path),
    )


def _labels(rows: Sequence[Row], runs: Sequence[Run]) -> list[str]:
    """Model names, with the run folder added where two rows would read the same."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.model] = counts.get(row.model, 0) + 1
    return [
        f"{row.model} [{run.path.name}]" if counts[row.model] > 1 else row.model
        for row, run in zip(rows, runs, strict=True)
    ]


def build_tables(
    runs: Sequence[Run], reported: Mapping[str, Mapping[str, float]] | None = None
) -> list[Table]:
    """Group runs into comparable tables, rank each, and compute its sections.

    Tables are ordered by (real models before fakes, suite, dataset, images, signature); rows
    by rank, then model name, then run path, so the output depends only on the runs, never on
    the order given. Runs are grouped by :func:`signature_key` (the box source reduced to its
    protocol, GT boxes or detected people) and fakes (:func:`is_fake`) apart from real models.
    Failure searches (:func:`is_examiner`) are left out:
    :func:`posebench.report.examiner.sections` shows them.
    """
    from dataclasses import replace

    groups: dict[tuple[bool, str, str, int, str, str], list[Run]] = {}
    for run in runs:
        if is_examiner(run.results):
            continue
        groups.setdefault(_group_key(run), []).append(run)
    tables = []
    for key in sorted(groups):
        fakes, suite, dataset, images, sig_key, metric = key
        members = groups[key]
        rows = [make_row(run, reported) for run in members]
        hib = rows[0].higher_is_better
        ranks = rank([row.value for row in rows], hib, decimals=1, scale=scale_of(metric))
        order = sorted(
            range(len(rows)),
            key=lambda i: (
                ranks[i] is None,
                ranks[i] or 0,
                -(rows[i].value or 0.0) if hib else (rows[i].value or 0.0),
                rows[i].model,
                rows[i].run,
            ),
        )
        rows = [replace(rows[i], rank=ranks[i]) for i in order]
        members = [members[i] for i in order]
        labels = _labels(rows, members)
        rows = [replace(row, label=lbl) for row, lbl in zip(rows, labels, strict=True)]
        notes = []
        versions = sorted({row.version for row in rows})
        if len(versions) > 1:
            notes.append(
                f"posebench versions differ ({', '.join(versions)}); the signatures agree otherwise"
            )
        unranked = [row.label for row in rows if row.rank is None]
        if unranked:
            notes.append(f"no headline value, not ranked: {', '.join(unranked)}")
        boxes = sorted({parse_signature(row.signature)[1].get("boxes", "") for row in rows} - {""})
        if len(boxes) > 1:
            notes.append(
                "ranked together under one protocol (detected people: bottom-up, or top-down on "
                f"detector boxes); box sources: {', '.join(boxes)} (the Boxes column)"
            )
        protocol = parse_signature(sig_key)[1].get("boxes", "")
        table = Table(
            suite=suite,
            dataset=dataset,
            images=images,
            signature=_joint_signature(rows[0].signature, boxes),
            metric=metric,
            stat=rows[0].stat,
            higher_is_better=hib,
            rows=rows,
            runs=members,
            notes=notes,
            protocol=protocol,
            fakes=fakes,
        )
        table.sections.update(sections(table))
        tables.append(table)
    return tables


def _joint_signature(sig: str, boxes: Sequence[str]) -> str:
    """``sig`` with its ``boxes`` part listing every box source of a table (``none,file-...``)."""
    if len(boxes) < 2:
        return sig
    return "|".join(
        f"boxes:{','.join(boxes)}" if part.startswith("boxes:") else part for part in sig.split("|")
    )


def report_json(
    title: str, notes: Sequence[str], tables: Sequence[Table], examiner: Sequence[Search] = ()
) -> dict[str, Any]:
    """The ``--format json`` document (schema ``posebench.report/1``): the tables with their
    rows and sections, and the failure searches (``examiner``, see
    :meth:`posebench.report.examiner.Search.to_json`) as data."""
    return {
        "schema": "posebench.report/1",
        "title": title,
        "notes": list(notes),
        "tables": [t.to_json() for t in tables],
        "examiner": [s.to_json() for s in examiner],
    }


def separation_notes(tables: Sequence[Table]) -> list[str]:
    """Say why runs of the same suite landed in different tables (their signatures differ)."""
    notes = []
    by_suite: dict[tuple[str, str, int], list[Table]] = {}
    for t in tables:
        if t.fakes:  # the fakes' tables are apart on purpose (their titles say so)
            continue
        by_suite.setdefault((t.suite, t.dataset, t.images), []).append(t)
    for (suite, dataset, images), ts in sorted(by_suite.items()):
        if len(ts) < 2:
            continue
        base = ts[0]
        for other in ts[1:]:
            diffs = signature_differences(base.signature, other.signature)
            if base.protocol != other.protocol:
                from posebench.compare import box_protocol_problem

                as_box = {"detected": "none"}  # a box source of that protocol
                way = box_protocol_problem(
                    as_box.get(base.protocol, base.protocol),
                    as_box.get(other.protocol, other.protocol),
                )
                diffs = [
                    f"protocol: {PROTOCOL_TITLES.get(base.protocol, base.protocol)} vs "
                    f"{PROTOCOL_TITLES.get(other.protocol, other.protocol)}"
                    + (f" ({way})" if way else ""),
                    *diffs,
                ]
            notes.append(
                f"{suite} on {dataset} ({images} images): runs not ranked together because "
                f"their headline signatures differ ({'; '.join(diffs)})"
            )
    return notes


# ----------------------------------------------------------------------------------- sections


def _block(run: Run, metric: str, condition: str = "clean") -> dict[str, Any]:
    conds = run.results.get("conditions") or {}
    c = conds.get(condition) if condition != "clean" else _clean_condition(run.results)
    return dict(((c or {}).get("metrics") or {}).get(metric) or {})


def sections(table: Table) -> dict[str, Any]:
    """The data shown below a table's leaderboard, keyed by section:

    - ``ci``: label -> stat -> {estimate, low, high} (clean condition, headline metric);
    - ``per_joint``: joint -> label -> value;
    - ``breakdowns``: breakdown -> label -> bucket -> headline-stat value;
    - ``robustness``: label -> metric -> {clean, mPC, rPC, mRR, by_severity, by_kind,
      by_condition} (runs with stressed conditions only);
    - ``error_analysis``: label -> the clean block's ``error_analysis`` (when recorded).
    """
    metric, stat = table.metric, table.stat
    labels = [row.label for row in table.rows]
    ci: dict[str, dict[str, Any]] = {}
    per_joint: dict[str, dict[str, float | None]] = {}
    breakdowns: dict[str, dict[str, dict[str, float | None]]] = {}
    robustness: dict[str, dict[str, Any]] = {}
    errors: dict[str, Any] = {}
    for label, run in zip(labels, table.runs, strict=True):
        block = _block(run, metric)
        values = block.get("values") or {}
        cis = block.get("ci") or {}
        stats = report_statistics(metric, values)
        stats = list(values) if stats is None else stats
        ci[label] = {
            s: {
                "estimate": _float(values.get(s)),
                "low": _float((cis.get(s) or {}).get("low")),
                "high": _float((cis.get(s) or {}).get("high")),
            }
            for s in stats
        }
        for joint, v in (block.get("per_joint") or {}).items():
            per_joint.setdefault(joint, {})[label] = _float(v)
        for name, buckets in (block.get("breakdowns") or {}).items():
            dest = breakdowns.setdefault(name, {})
            dest[label] = {b: _float((row or {}).get(stat)) for b, row in buckets.items()}
        summary = run.results.get("summary") or {}
        if summary:
            robustness[label] = {
                m: {
                    "clean": _float(s.get("clean")),
                    "mPC": _float(s.get("mPC")),
                    "rPC": _float(s.get("rPC")),
                    "mRR": _float(s.get("mRR")),
                    "mPC_corruptions": s.get("mPC_corruptions"),
                    # error metrics (MPJPE...): mean error under corruption and its ratio
                    "higher_is_better": bool(s.get("higher_is_better", True)),
                    "mE": _float(s.get("mE")),
                    "rE": _float(s.get("rE")),
                    "by_severity": {k: _float(v) for k, v in (s.get("by_severity") or {}).items()},
                    "by_kind": {k: _float(v) for k, v in (s.get("by_kind") or {}).items()},
                    "by_condition": {
                        n: {k: _float(v) for k, v in d.items()}
                        for n, d in (s.get("by_condition") or {}).items()
                    },
                    "kinds": _condition_kinds(run),
                }
                for m, s in sorted(summary.items(), key=lambda kv: (kv[0] != metric, kv[0]))
            }
        if block.get("error_analysis"):
            errors[label] = block["error_analysis"]
    for joint in per_joint:
        per_joint[joint] = {lbl: per_joint[joint].get(lbl) for lbl in labels}
    ordered_bd = {
        name: breakdowns[name]
        for name in sorted(
            breakdowns,
            key=lambda n: (list(BREAKDOWN_TITLES).index(n) if n in BREAKDOWN_TITLES else 99, n),
        )
    }
    return {
        "ci": ci,
        "per_joint": per_joint,
        "breakdowns": ordered_bd,
        "robustness": robustness,
        "error_analysis": errors,
    }


def _condition_kinds(run: Run) -> dict[str, str]:
    """condition name -> kind (corruption, occlusion, lowlight...)."""
    out: dict[str, str] = {}
    for c in (run.results.get("conditions") or {}).values():
        if c.get("kind") != "clean":
            out[str(c.get("name"))] = str(c.get("kind"))
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------------- formatting


def fmt_value(v: float | None, metric: str, decimals: int = 1) -> str:
    """A metric value for display (OKS as a percentage); ``—`` when undefined."""
    f = _float(v)
    if f is None:
        return "—"
    return f"{f * scale_of(metric):.{decimals}f}"


def fmt_ci(v: float | None, low: float | None, high: float | None, metric: str) -> str:
    """``71.3 [70.1, 72.4]``; the estimate alone when there is no interval."""
    s = fmt_value(v, metric)
    if _float(low) is None or _float(high) is None or s == "—":
        return s
    return f"{s} [{fmt_value(low, metric)}, {fmt_value(high, metric)}]"


def fmt_ratio(v: float | None) -> str:
    """rPC, mRR: a ratio shown as a percentage with one decimal."""
    f = _float(v)
    return "—" if f is None else f"{100.0 * f:.1f}"


def fmt_date(created: str) -> str:
    """``2026-11-22`` from the run's ISO ``created``."""
    return created[:10] if created else "—"


BOX_NAMES = {"gt": "GT", "detector": "detector", "none": "none (bottom-up)", "file": "file"}


def fmt_boxes(box: str, boxes_from: Mapping[str, Any] | None = None) -> str:
    """``GT``, ``detector``, ``none (bottom-up)``; boxes from a file or another run:
    ``file-<digest> (yolo11n-pose run)``."""
    if box.startswith("file-") and boxes_from:
        what = boxes_from.get("label")
        return f"{box} ({what})" if what else box
    return BOX_NAMES.get(box, box)


def fmt_throughput(v: float | None) -> str:
    """Images per second: two significant decimals below 10, one above; ``—`` when unknown."""
    f = _float(v)
    if f is None:
        return "—"
    return f"{f:.2f}" if f < 10 else f"{f:.1f}"
