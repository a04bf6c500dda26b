"""Report figures: matplotlib (Agg canvas, no pyplot state), returned as PNG bytes.

Byte-stable: a fixed size and DPI, the bundled DejaVu font, and no metadata that changes between
calls (``metadata={"Software": None}``: no version string, and Agg writes no time), so a report
regenerated from the same runs embeds the same images. Example images with skeletons are drawn
with Pillow and returned as JPEG (photographs; an eighth of the PNG size).

Every function takes plain arrays and dicts (values in display units) and knows nothing about
run folders; :mod:`posebench.report.html` gathers the data.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

DPI = 100
#: fixed colour cycle (matplotlib tab10), so a model keeps its colour across figures.
COLORS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
#: line styles cycled after the colours run out (many corruptions on one axis).
STYLES = ("-", "--", ":", "-.")


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def to_png(fig: Any) -> bytes:
    """The figure as PNG bytes, with no metadata that varies between calls, in a 256-colour
    palette (a chart's flat colours and their anti-aliased edges fit it; a third of the bytes of
    the RGBA file, which the HTML report inlines)."""
    from PIL import Image  # matplotlib's own dependency

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    rgb = Image.open(buf).convert("RGB")
    pal = rgb.quantize(colors=256, method=Image.Quantize.MAXCOVERAGE, dither=Image.Dither.NONE)
    out = io.BytesIO()
    pal.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _nan(v: float | None) -> float:
    return math.nan if v is None else float(v)


def grouped_bars(
    groups: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str,
    ylabel: str,
    width: float = 9.0,
    height: float = 3.6,
    rotate: bool = True,
) -> bytes:
    """Bars of ``series`` (label -> one value per group), side by side within each group.

    Used for per-joint AP (groups: joints) and breakdowns (groups: crowd buckets...).
    """
    fig = _figure(width, height)
    ax = fig.add_subplot(1, 1, 1)
    n = max(len(series), 1)
    x = np.arange(len(groups), dtype=np.float64)
    w = 0.8 / n
    for i, (label, vals) in enumerate(series.items()):
        y = np.array([_nan(v) for v in vals], dtype=np.float64)
        ax.bar(
            x + (i - (n - 1) / 2) * w,
            np.nan_to_num(y),
            w,
            label=label,
            color=COLORS[i % len(COLORS)],
        )
    ax.set_xticks(x)
    ax.set_xticklabels(
        groups, rotation=45 if rotate else 0, ha="right" if rotate else "center", fontsize=8
    )
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=7, ncol=min(len(series), 3))
    fig.tight_layout()
    return to_png(fig)


def severity_curves(
    lines: Mapping[str, Mapping[int, float | None]],
    *,
    title: str,
    ylabel: str,
    mean: Mapping[int, float | None] | None = None,
) -> bytes:
    """Metric versus severity (0 = clean): one line per condition (or per model), and
    optionally the mean over all conditions as a thick black line."""
    fig = _figure(7.5, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    for i, (name, pts) in enumerate(lines.items()):
        xs = sorted(pts)
        ys = [_nan(pts[s]) for s in xs]
        ax.plot(
            xs,
            ys,
            marker="o",
            markersize=3,
            linewidth=1.2,
            label=name,
            color=COLORS[i % len(COLORS)],
            linestyle=STYLES[(i // len(COLORS)) % 4],
        )
    if mean:
        xs = sorted(mean)
        ax.plot(
            xs,
            [_nan(mean[s]) for s in xs],
            color="black",
            linewidth=2.6,
            marker="s",
            markersize=4,
            label="mean",
        )
    ax.set_xlabel("severity (0 = clean)")
    ax.set_ylabel(ylabel)
    ax.set_xticks(range(0, 6))
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6.5, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    return to_png(fig)


def pr_curves(
    recall: npt.NDArray[np.float64],
    curves: Mapping[str, Mapping[str, npt.NDArray[np.float64]]],
    *,
    title: str,
) -> bytes:
    """Precision versus recall, one panel per OKS threshold (``"OKS .50"`` ...), one line per
    model. ``curves``: model -> threshold label -> (R,) precision (NaN where undefined)."""
    thresholds = list(dict.fromkeys(t for c in curves.values() for t in c))
    fig = _figure(4.0 * max(len(thresholds), 1), 3.6)
    for j, thr in enumerate(thresholds):
        ax = fig.add_subplot(1, len(thresholds), j + 1)
        for i, (label, per) in enumerate(curves.items()):
            if thr in per:
                ax.plot(recall, per[thr], label=label, color=COLORS[i % len(COLORS)], linewidth=1.4)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_title(f"{title}: {thr}", fontsize=10)
        ax.grid(alpha=0.3)
        if j == 0 and len(curves) > 1:
            ax.legend(fontsize=7)
    fig.tight_layout()
    return to_png(fig)


def draw_example(
    image: npt.NDArray[np.uint8],
    gt: npt.NDArray[np.float64],
    gt_visible: npt.NDArray[np.bool_],
    pred: npt.NDArray[np.float64],
    pred_visible: npt.NDArray[np.bool_],
    limbs: Sequence[tuple[int, int]],
    *,
    max_side: int = 320,
) -> bytes:
    """An image with ground-truth (green) and predicted (red) skeletons, as JPEG bytes.

    Args:
        image: (H, W, 3) RGB uint8.
        gt: (G, K, 2) ground-truth keypoints in pixels; gt_visible: (G, K) labelled.
        pred: (P, K, 2) predicted keypoints; pred_visible: (P, K) drawn (finite, scored).
        limbs: (a, b) keypoint index pairs (``Skeleton.limbs``).
        max_side: the longer side of the output, in pixels.
    """
    from PIL import Image, ImageDraw

    h, w = image.shape[:2]
    s = min(1.0, max_side / max(h, w, 1))
    im = Image.fromarray(np.ascontiguousarray(image[..., :3])).convert("RGB")
    if s < 1.0:
        im = im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(im)
    for kps, vis, color, r in (
        (gt, gt_visible, (40, 220, 60), 2),
        (pred, pred_visible, (240, 40, 40), 2),
    ):
        pts = np.asarray(kps, np.float64)[..., :2] * s
        ok = np.asarray(vis, bool) & np.isfinite(pts).all(axis=-1)
        for p in range(len(pts)):
            for a, b in limbs:
                if ok[p, a] and ok[p, b]:
                    draw.line([tuple(pts[p, a]), tuple(pts[p, b])], fill=color, width=2)
            for k in np.flatnonzero(ok[p]):
                x, y = pts[p, k]
                draw.ellipse([x - r, y - r, x + r, y + r], fill=color)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=85, optimize=False)
    return buf.getvalue()
