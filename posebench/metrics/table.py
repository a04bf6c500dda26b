"""The metric table: every metric posebench computes, declared once.

Each row says what a metric is called, what data it needs, which function computes it (a
``module:attr`` path, imported only when asked for), the order of that function's arguments,
the parts of its signature, its headline statistic and the direction of that statistic, and how
its numbers are written (a fraction shown as percent, a percent, or millimetres).

Suites name metric *families* (``{name: oks, mode: crowdpose}``); a family and its options pick
one row (:func:`for_suite_entry`). ``posebench ls metrics``, suite validation and the stable API
(:func:`posebench.score`) read this table.

    >>> get("oks-coco").headline, get("oks-coco").higher_is_better
    ('AP', True)
    >>> get("pa-mpjpe").format(31.4159)
    '31.42 mm'
    >>> get("oks-coco").format(0.7234)
    '72.3'
    >>> [m.name for m in METRIC_TABLE.values() if m.family == "mpjpe"]
    ['mpjpe', 'mpjpe-abs', 'pa-mpjpe']
"""

from __future__ import annotations

import difflib
import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from posebench.errors import InputError

Unit = Literal["fraction", "percent", "mm"]
Records = Literal["matches", "samples", "none"]

#: what a metric may need, in words a user reads in ``posebench ls metrics``.
NEEDS = {
    "keypoints2d": "2D keypoints (N, K, 2) of predictions and ground truth",
    "keypoints3d": "3D joints (N, K, 3) in millimetres",
    "instance_scores": "a confidence per predicted person (ranking for AP)",
    "gt_area": "GT object scale: segment area (or 0.53 w h of the GT box)",
    "gt_boxes": "GT person boxes",
    "head_boxes": "MPII head boxes (N, 2, 2)",
    "crowd_index": "a CrowdPose crowd index per image (computed from the GT when absent)",
    "sigmas": "OKS sigmas for the skeleton",
    "visibility": "a labelled/visible flag per GT keypoint",
    "limbs": "the skeleton's limbs",
    "torso": "the skeleton's torso joints",
    "occluder_masks": "which keypoints an occluder covered",
}


@dataclass(frozen=True)
class MetricDef:
    """One metric.

    Attributes:
        name: the table name (``oks-coco``, ``pckh``, ``pa-mpjpe``...).
        description: one line.
        family: the suite name of its family (``oks``, ``mpjpe``...), or None when suites cannot
            ask for it (it is reachable through :func:`posebench.score` and the CLI).
        options: the suite options that select this row within its family (``{"mode": "coco"}``).
        dims: 2 or 3, the ground truth it needs.
        persons: ``multi`` (detections matched to GT by OKS) or ``single`` (one prediction per
            GT person, in GT order).
        needs: keys of :data:`NEEDS`.
        function: ``module:attr`` of the batch function that computes it.
        argument_order: that function's leading arguments, in order (``("gt", "dt")`` for
            :func:`~posebench.metrics.cocoeval.evaluate_oks`, which predates the ``(preds,
            target)`` convention; :func:`posebench.score` always takes ``(preds, gt)``).
        stateful: ``module:attr`` of its streaming form (``update``/``compute``/``merge``), or
            None.
        signature_parts: the parts of its signature, in order.
        headline: the statistic that stands for the metric (``AP``, ``PCKh``, ``MPJPE``).
        statistics: every statistic it reports.
        higher_is_better: the direction of the headline statistic.
        unit: ``fraction`` (0-1, shown x100), ``percent`` (0-100) or ``mm``.
        defaults: option defaults (``{"threshold": 0.5}``).
        result_keys: the results keys of a run folder that hold this metric, before any
            ``@threshold`` (``oks/crowdpose``, ``pckh``, ``mpjpe/procrustes``); empty when runs
            never record it. The part before ``/`` is the key's family (:func:`key_family`).
        gate_statistic: the statistic ``posebench compare`` checks by default (None: the
            headline). PCKh is gated on ``PCKh_pooled``, the statistic its per-sample records
            (correct / evaluable per image) pair exactly.
        report_statistics: the statistics reports list (interval section, model index), in
            order, where a block has them; empty: every value (interval section) and the
            headline (model index).
        records: what a run keeps for a paired bootstrap of the headline: ``matches`` (OKS
            match records, ``matches/*.npz``), ``samples`` (``samples.parquet`` columns) or
            ``none``.
        params: ``module:attr`` of the OKS parameter maker (sigmas -> parameters) of OKS rows.
        robustness: the robustness summary kind: ``accuracy`` (mPC, rPC, mRR; COCO-C) or
            ``error`` (mE, CE, rE; ImageNet-C corruption errors).
        label_upper: reports name the metric by its results key in capitals (``OKS``).
        per_joint_title: the title of the per-joint section of reports.
        score_name: its ``posebench score --metric`` choice (rows of one choice differ by
            options, e.g. ``--mode``), or None when ``posebench score`` cannot compute it.
        scorer: ``module:attr`` of what ``posebench score`` runs for it:
            ``(args, gt_path, pred_path) -> dict | int``, the JSON payload of a single-person
            score (printed by the CLI) or the exit code after printing itself.
        batch: ``module:attr`` of :func:`posebench.score`'s implementation for it, called as
            ``(row, preds, gt, **options)``; None when only a run computes it.
        call_options: keyword arguments its batch function is always called with
            (``root=0``: root-relative MPJPE).
        signature_metric: the metric part of its signatures when neither its family nor its
            name (``mpjpe`` for ``n-mpjpe``, one alignment of the MPJPE signatures).
        file_statistics: statistic -> the key of the ``posebench score`` output that holds it
            (``PCP`` is the ``Total`` of PCP's table), for :func:`posebench.score` on files; a
            key ending in ``@`` names the first output key that starts with it
            (``PDJ@0.20``).
    """

    name: str
    description: str
    family: str | None
    options: Mapping[str, Any]
    dims: int
    persons: Literal["multi", "single"]
    needs: tuple[str, ...]
    function: str
    argument_order: tuple[str, ...]
    stateful: str | None
    signature_parts: tuple[str, ...]
    headline: str
    statistics: tuple[str, ...]
    higher_is_better: bool
    unit: Unit
    defaults: Mapping[str, Any] = field(default_factory=dict)
    result_keys: tuple[str, ...] = ()
    gate_statistic: str | None = None
    report_statistics: tuple[str, ...] = ()
    records: Records = "none"
    params: str | None = None
    robustness: Literal["accuracy", "error"] = "accuracy"
    label_upper: bool = False
    per_joint_title: str = "Per joint"
    score_name: str | None = None
    scorer: str | None = None
    batch: str | None = None
    call_options: Mapping[str, Any] = field(default_factory=dict)
    file_statistics: Mapping[str, str] = field(default_factory=dict)
    signature_metric: str | None = None

    def resolve(self) -> Callable[..., Any]:
        """The batch function (imported now)."""
        fn: Callable[..., Any] = _import(self.function)
        return fn

    def resolve_stateful(self) -> type[Any]:
        """The streaming class (imported now); InputError when the metric has none."""
        if self.stateful is None:
            raise InputError(f"metric {self.name!r} has no streaming form", field="metric")
        cls: type[Any] = _import(self.stateful)
        return cls

    def format(self, value: float | None) -> str:
        """A number of this metric as printed: fraction x100 with one decimal, percent with
        one decimal, millimetres with two and the unit; ``n/a`` when undefined."""
        if value is None or math.isnan(value):
            return "n/a"
        if self.unit == "fraction":
            return f"{100 * value:.1f}"
        if self.unit == "percent":
            return f"{value:.1f}"
        return f"{value:.2f} mm"

    def scale_to_percent(self) -> float:
        """Factor that brings a value of this metric to percent (1 for millimetres)."""
        return 100.0 if self.unit == "fraction" else 1.0

    def resolve_params(self) -> Callable[..., Any]:
        """The OKS parameter maker (imported now); InputError for a row without one."""
        if self.params is None:
            raise InputError(f"metric {self.name!r} has no OKS parameters", field="metric")
        fn: Callable[..., Any] = _import(self.params)
        return fn

    def resolve_batch(self) -> Callable[..., Any]:
        """:func:`posebench.score`'s implementation for it (imported now)."""
        if self.batch is None:
            raise InputError(
                f"{self.name} is computed inside a run, not by score()", field="metric"
            )
        fn: Callable[..., Any] = _import(self.batch)
        return fn

    def resolve_scorer(self) -> Callable[..., Any]:
        """What ``posebench score`` runs for it (imported now)."""
        if self.scorer is None:
            raise InputError(f"posebench score cannot compute {self.name!r}", field="--metric")
        fn: Callable[..., Any] = _import(self.scorer)
        return fn

    @property
    def signature_name(self) -> str:
        """The metric part of its signatures (``oks|mode:coco|...``): ``signature_metric``, else
        its suite family, else its name (``oks-wholebody``)."""
        return self.signature_metric or self.family or self.name

    @property
    def key_families(self) -> tuple[str, ...]:
        """The families of its results keys (``oks`` for ``oks/crowdpose``)."""
        return tuple(dict.fromkeys(key_family(k) for k in self.result_keys))

    def needs_text(self) -> str:
        """The requirements in words, ``; ``-separated."""
        return "; ".join(NEEDS[n] for n in self.needs)


def _import(path: str) -> Any:
    module, _, attr = path.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


_OKS_PER_JOINT = "Per-joint AP (OKS of each keypoint alone)"
_SINGLE_BATCH = "posebench.api:_single_batch"
_COCO_STATS = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")
_CROWD_STATS = ("AP", "AP50", "AP75", "AR", "AR50", "AR75", "APeasy", "APmedium", "APhard")
_OKS_PARTS = ("mode", "sigmas", "scale", "maxdets", "gtignore", "gtid0", "gtneg", "zerodets")
# posebench.metrics.pck.mpii_pckh's table: the published (unweighted) mean first, then the pooled.
_PCKH_STATS = ("Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Mean_joint_avg",
               "Mean_pooled", "Mean_pooled@0.1")  # fmt: skip

_ROWS = (
    MetricDef(
        name="oks-coco",
        description="OKS AP/AR, bit-identical to pycocotools COCOeval('keypoints')",
        family="oks", options={"mode": "coco"}, dims=2, persons="multi",
        needs=("keypoints2d", "instance_scores", "gt_area", "sigmas", "visibility"),
        function="posebench.metrics.cocoeval:evaluate_oks", argument_order=("gt", "dt"),
        stateful="posebench.metrics.stateful:OKSAveragePrecision",
        signature_parts=_OKS_PARTS, headline="AP", statistics=_COCO_STATS,
        higher_is_better=True, unit="fraction", defaults={"max_dets": 20, "sigmas": "coco17"},
        result_keys=("oks",), report_statistics=_COCO_STATS, records="matches",
        params="posebench.metrics.cocoeval:coco_params", label_upper=True,
        per_joint_title=_OKS_PER_JOINT, score_name="oks", scorer="posebench.cli.score:score_oks",
        batch="posebench.api:_score_oks",
    ),
    MetricDef(
        name="oks-crowdpose",
        description="OKS AP/AR with easy/medium/hard crowd buckets, bit-identical to "
        "xtcocotools COCOeval('keypoints_crowd', use_area=False)",
        family="oks", options={"mode": "crowdpose"}, dims=2, persons="multi",
        needs=("keypoints2d", "instance_scores", "gt_boxes", "sigmas", "visibility",
               "crowd_index"),
        function="posebench.metrics.cocoeval:evaluate_oks", argument_order=("gt", "dt"),
        stateful="posebench.metrics.stateful:OKSAveragePrecision",
        signature_parts=(*_OKS_PARTS, "buckets", "bucketap"), headline="AP",
        statistics=_CROWD_STATS, higher_is_better=True, unit="fraction",
        defaults={"max_dets": 20, "sigmas": "crowdpose14"},
        # reports list the COCO statistics it has (not the crowd buckets)
        result_keys=("oks/crowdpose",), report_statistics=_COCO_STATS, records="matches",
        params="posebench.metrics.cocoeval:crowdpose_params", label_upper=True,
        per_joint_title=_OKS_PER_JOINT, score_name="oks", scorer="posebench.cli.score:score_oks",
        batch="posebench.api:_score_oks",
    ),
    MetricDef(
        name="oks-wholebody",
        description="COCO-WholeBody OKS AP/AR of body, foot, face, hands and the whole body, "
        "as xtcocotools",
        family=None, options={}, dims=2, persons="multi",
        needs=("keypoints2d", "instance_scores", "gt_area", "sigmas", "visibility"),
        function="posebench.metrics.cocoeval:evaluate_wholebody", argument_order=("gt", "dt"),
        stateful=None,
        signature_parts=("sigmas", "scale", "maxdets", "gtignore", "zerodets", "gtneg",
                         "detarea"),
        headline="wholebody/AP",
        statistics=tuple(f"{p}/{s}" for p in ("body", "foot", "face", "lefthand", "righthand",
                                              "wholebody") for s in _COCO_STATS),
        higher_is_better=True, unit="fraction",
        defaults={"max_dets": 20, "sigmas": "coco_wholebody133"},
        label_upper=True, score_name="wholebody", scorer="posebench.cli.score:score_wholebody",
        batch="posebench.api:_score_wholebody",
    ),
    MetricDef(
        name="pckh",
        description="MPII PCKh: joint within threshold x head size (official evaluation)",
        family="pckh", options={}, dims=2, persons="single",
        needs=("keypoints2d", "visibility", "head_boxes"),
        function="posebench.metrics.pck:mpii_pckh", argument_order=("pred", "gt"),
        stateful="posebench.metrics.stateful:PCKh",
        signature_parts=("skeleton", "thr", "norm", "cmp"), headline="PCKh_joint_avg",
        statistics=("PCKh_joint_avg", "PCKh_pooled", *_PCKH_STATS), higher_is_better=True,
        unit="percent",
        defaults={"threshold": 0.5, "skeleton": "mpii16"}, result_keys=("pckh",),
        gate_statistic="PCKh_pooled", records="samples", score_name="pckh",
        scorer="posebench.cli.score_single:score_pckh", batch=_SINGLE_BATCH,
        file_statistics={"PCKh_joint_avg": "Mean_joint_avg", "PCKh_pooled": "Mean_pooled"},
    ),
    MetricDef(
        name="pck",
        description="PCK: joint within threshold x bbox size or torso diameter",
        family="pck", options={}, dims=2, persons="single",
        needs=("keypoints2d", "visibility", "gt_boxes"),
        function="posebench.metrics.pck:pck", argument_order=("pred", "gt"),
        stateful="posebench.metrics.stateful:PCK",
        signature_parts=("skeleton", "thr", "norm", "cmp"), headline="PCK",
        statistics=("PCK",), higher_is_better=True, unit="percent",
        defaults={"threshold": 0.2, "normalizer": "bbox"}, result_keys=("pck",),
        records="samples", score_name="pck", scorer="posebench.cli.score_single:score_pck",
        batch=_SINGLE_BATCH,
    ),
    MetricDef(
        name="pcp",
        description="PCP: limb correct when both ends are within threshold x limb length",
        family="pcp", options={}, dims=2, persons="single",
        needs=("keypoints2d", "visibility", "limbs"),
        function="posebench.metrics.pcp:pcp", argument_order=("pred", "gt"), stateful=None,
        signature_parts=("skeleton", "thr", "mode", "cmp"), headline="PCP",
        statistics=("PCP",), higher_is_better=True, unit="percent",
        defaults={"threshold": 0.5}, result_keys=("pcp",), records="samples", score_name="pcp",
        scorer="posebench.cli.score_single:score_pcp", batch=_SINGLE_BATCH,
        file_statistics={"PCP": "Total"},
    ),
    MetricDef(
        name="pdj",
        description="PDJ: joint within threshold x torso diameter",
        family="pdj", options={}, dims=2, persons="single",
        needs=("keypoints2d", "visibility", "torso"),
        function="posebench.metrics.pcp:pdj", argument_order=("pred", "gt"), stateful=None,
        signature_parts=("skeleton", "thr", "norm", "cmp"), headline="PDJ",
        statistics=("PDJ",), higher_is_better=True, unit="percent",
        defaults={"threshold": 0.2}, result_keys=("pdj",), records="samples", score_name="pdj",
        scorer="posebench.cli.score_single:score_pdj", batch=_SINGLE_BATCH,
        file_statistics={"PDJ": "PDJ@"},
    ),
    MetricDef(
        name="mpjpe",
        description="MPJPE after subtracting the root joint (Human3.6M protocol #1), mm",
        family="mpjpe", options={"align": "root"}, dims=3, persons="single",
        needs=("keypoints3d",),
        function="posebench.metrics.mpjpe:mpjpe", argument_order=("pred", "gt"),
        stateful="posebench.metrics.stateful:MPJPE",
        signature_parts=("align", "unit"), headline="MPJPE", statistics=("MPJPE",),
        higher_is_better=False, unit="mm", result_keys=("mpjpe", "mpjpe/root"),
        records="samples", robustness="error", score_name="mpjpe",
        scorer="posebench.cli.score_single:score_mpjpe", batch=_SINGLE_BATCH,
        call_options={"root": 0},
    ),
    MetricDef(
        name="mpjpe-abs",
        description="MPJPE without alignment (absolute positions), mm",
        family="mpjpe", options={"align": "none"}, dims=3, persons="single",
        needs=("keypoints3d",),
        function="posebench.metrics.mpjpe:mpjpe", argument_order=("pred", "gt"),
        stateful="posebench.metrics.stateful:MPJPE",
        signature_parts=("align", "unit"), headline="MPJPE-abs", statistics=("MPJPE-abs",),
        higher_is_better=False, unit="mm", result_keys=("mpjpe/none",), records="samples",
        robustness="error", batch=_SINGLE_BATCH, call_options={"root": None},
    ),
    MetricDef(
        name="pa-mpjpe",
        description="MPJPE after similarity Procrustes alignment (protocol #2, VideoPose3D "
        "p_mpjpe), mm",
        family="mpjpe", options={"align": "procrustes"}, dims=3, persons="single",
        needs=("keypoints3d",),
        function="posebench.metrics.mpjpe:pa_mpjpe", argument_order=("pred", "gt"),
        stateful="posebench.metrics.stateful:PAMPJPE",
        signature_parts=("align", "unit"), headline="PA-MPJPE", statistics=("PA-MPJPE",),
        higher_is_better=False, unit="mm", result_keys=("mpjpe/procrustes",), records="samples",
        robustness="error", batch=_SINGLE_BATCH,
    ),
    MetricDef(
        name="n-mpjpe",
        description="MPJPE after optimal scaling of the root-relative prediction "
        "(VideoPose3D n_mpjpe), mm",
        # (no suite family: its options only name its alignment in signatures)
        family=None, options={"align": "scale"}, dims=3, persons="single",
        needs=("keypoints3d",),
        function="posebench.metrics.mpjpe:n_mpjpe", argument_order=("pred", "gt"),
        stateful="posebench.metrics.stateful:NMPJPE",
        signature_parts=("align", "unit"), headline="N-MPJPE", statistics=("N-MPJPE",),
        higher_is_better=False, unit="mm", robustness="error", batch=_SINGLE_BATCH,
        call_options={"root": 0}, signature_metric="mpjpe",
    ),
    MetricDef(
        name="keypoints-occluded",
        description="keypoint similarity on the keypoints an occluder covered (occlusion "
        "conditions of a run)",
        family=None, options={}, dims=2, persons="multi",
        needs=("keypoints2d", "sigmas", "occluder_masks"),
        function="posebench.evaluate:occluded_keypoints", argument_order=("gt", "pred"),
        stateful=None, signature_parts=("sigmas", "pairing", "boxes"),
        headline="KS_occluded",
        statistics=("KS_occluded", "PCK_occluded", "KS_other", "covered_keypoints"),
        higher_is_better=True, unit="fraction", result_keys=("keypoints/occluded",),
    ),
)  # fmt: skip

#: table name -> metric. The one place a metric is declared.
METRIC_TABLE: dict[str, MetricDef] = {m.name: m for m in _ROWS}

#: suite family name -> one line about the family (the rows give everything else).
FAMILIES: dict[str, str] = {
    "oks": "OKS AP/AR, bit-identical to pycocotools (mode coco) or xtcocotools (mode crowdpose)",
    "pckh": METRIC_TABLE["pckh"].description,
    "pck": METRIC_TABLE["pck"].description,
    "pcp": METRIC_TABLE["pcp"].description,
    "pdj": METRIC_TABLE["pdj"].description,
    "mpjpe": "MPJPE in millimetres (align: none, root, procrustes = PA-MPJPE)",
}


def get(name: str) -> MetricDef:
    """The metric called ``name``; InputError with "did you mean" for an unknown one."""
    try:
        return METRIC_TABLE[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(METRIC_TABLE), n=2, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise InputError(
            f"unknown metric {name!r}{hint} (known: {', '.join(METRIC_TABLE)})", field="metric"
        ) from None


def family_rows(family: str) -> tuple[MetricDef, ...]:
    """The rows of a suite family, in table order."""
    return tuple(m for m in METRIC_TABLE.values() if m.family == family)


def for_suite_entry(entry: Mapping[str, Any]) -> MetricDef:
    """The row a suite metric entry selects (``{"name": "oks", "mode": "crowdpose"}`` ->
    ``oks-crowdpose``); a family's default options pick its first row.

    >>> for_suite_entry({"name": "mpjpe", "align": "procrustes"}).name
    'pa-mpjpe'
    """
    fam = str(entry.get("name", ""))
    rows = family_rows(fam)
    if not rows:
        raise InputError(
            f"unknown metric {fam!r} (known: {', '.join(FAMILIES)})", field="metrics.name"
        )
    for row in rows:
        if all(entry.get(k, rows[0].options.get(k)) == v for k, v in row.options.items()):
            return row
    raise InputError(f"no metric of family {fam!r} matches {dict(entry)}", field="metrics")


def key_family(key: str) -> str:
    """The family of a results key: ``pckh@0.5`` -> ``pckh``, ``oks/crowdpose`` -> ``oks``."""
    return key.split("@")[0].split("/")[0]


def row_for_key(key: str) -> MetricDef | None:
    """The row of a run's results key, or None for a key no row records: the row that lists
    the key's stem (the part before ``@``) in ``result_keys``, else the first row of the
    key's family (``mpjpe/other`` -> ``mpjpe``).

    >>> row_for_key("pck@0.2/torso").name, row_for_key("mpjpe/procrustes").name
    ('pck', 'pa-mpjpe')
    """
    stem = key.split("@")[0]
    rows = METRIC_TABLE.values()
    for row in rows:
        if stem in row.result_keys:
            return row
    fam = key_family(key)
    return next((row for row in rows if fam in row.key_families), None)


def for_results_key(key: str) -> MetricDef:
    """The row of a run's results key (``oks``, ``oks/crowdpose``, ``pckh@0.5``,
    ``pck@0.2/torso``, ``mpjpe/procrustes``, ``keypoints/occluded``); InputError for a key no
    row records.

    >>> for_results_key("oks/crowdpose").name, for_results_key("pck@0.2/torso").unit
    ('oks-crowdpose', 'percent')
    """
    row = row_for_key(key)
    if row is None:
        known = ", ".join(k for m in METRIC_TABLE.values() for k in m.result_keys)
        raise InputError(f"unknown metric key {key!r} (known: {known})", field="metrics")
    return row


def headline_candidates(key: str) -> tuple[str, ...]:
    """The statistics that can be the headline of a block of results key ``key``: its row's
    headline, then those of the other rows of its family (a block holds one of them)."""
    row = row_for_key(key)
    if row is None:
        return ()
    fam = key_family(key)
    others = (m.headline for m in METRIC_TABLE.values() if fam in m.key_families)
    return tuple(dict.fromkeys((row.headline, *others)))


def score_choices() -> tuple[str, ...]:
    """The ``posebench score --metric`` choices, in table order (the first is the default)."""
    return tuple(dict.fromkeys(m.score_name for m in METRIC_TABLE.values() if m.score_name))


def for_score_name(name: str, options: Mapping[str, Any] | None = None) -> MetricDef:
    """The row ``posebench score --metric NAME`` computes: among the rows of that choice, the
    first whose options all equal ``options`` (``{"mode": "crowdpose"}``), else the first."""
    rows = [m for m in METRIC_TABLE.values() if m.score_name == name]
    if not rows:
        raise InputError(
            f"unknown metric {name!r} (known: {', '.join(score_choices())})", field="--metric"
        )
    opts = options or {}
    for row in rows:
        if all(opts.get(k) == v for k, v in row.options.items()):
            return row
    return rows[0]


def family_info(family: str) -> tuple[str, bool, int, str, str]:
    """``(description, higher_is_better, dims, persons, needs)`` of a suite family, from its
    rows (which agree on all but the description)."""
    rows = family_rows(family)
    first = rows[0]
    needs = "head boxes" if "head_boxes" in first.needs else ""
    if first.family == "oks":
        needs = "OKS sigmas for the skeleton"
    return FAMILIES[family], first.higher_is_better, first.dims, first.persons, needs


__all__ = [
    "FAMILIES",
    "METRIC_TABLE",
    "NEEDS",
    "MetricDef",
    "family_info",
    "family_rows",
    "for_results_key",
    "for_score_name",
    "for_suite_entry",
    "get",
    "headline_candidates",
    "key_family",
    "row_for_key",
    "score_choices",
]
