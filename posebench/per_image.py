"""Per-image OKS records and each image's contribution to AP (``score --per-image``).

What people use to find their worst images: per image, the ground truth counted, the detections
evaluated, how many persons were found at OKS 0.50 and 0.75, the mean OKS of the counted persons'
matches, the unmatched detections at OKS 0.50, and the image's contribution to AP: the AP of
all images minus the AP of all images but this one (leave-one-out; negative: the image pulls
AP down). The leave-one-out APs reuse the bootstrap's match-record replicates with a
multiplicity of 0 for the left-out image, so each equals pycocotools' AP with that image left out
of ``params.imgIds`` (``tests/test_score_outputs.py`` checks it image by image).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import numpy.typing as npt

from posebench.errors import InputError
from posebench.metrics.cocoeval import OksEvaluation, OksParams
from posebench.poseset import ImageTable

FloatArray = npt.NDArray[np.float64]

#: the columns of the per-image table, in order.
COLUMNS = (
    "image_id", "file_name", "n_gt", "n_pred", "matched50", "matched75", "unmatched50",
    "mean_oks", "ap_without", "ap_contribution",
)  # fmt: skip


def leave_one_out_ap(ev: OksEvaluation, params: OksParams, stat: str = "AP") -> FloatArray:
    """(I,) ``stat`` of the evaluation with each image left out in turn (NaN where undefined).

    Uses the match records of every category (:class:`OksEvaluation.per_category`).
    """
    # The bootstrap's replicate engine takes any (b, U) multiplicity matrix; a leave-one-out
    # row is all ones but a zero at the left-out image.
    from posebench.metrics.bootstrap import _oks_replicates, _oks_rows, _plan

    ms = list(ev.per_category)
    plan = _plan(ms, params, None)
    n = plan.n_units
    out = np.empty(n)
    step = _oks_rows([plan])
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        counts = np.ones((hi - lo, n), np.int64)
        counts[np.arange(hi - lo), np.arange(lo, hi)] = 0
        out[lo:hi] = _oks_replicates(plan, params, counts)[stat]
    return out


def per_image_table(
    ev: OksEvaluation, params: OksParams, images: ImageTable
) -> dict[str, np.ndarray]:
    """The per-image records (:data:`COLUMNS`), one row per evaluated image, by id.

    Counts use the first category's records at the ``all`` area range; ``ap_contribution`` is
    ``AP - ap_without`` in AP units (fractions).
    """
    from posebench.evaluate import _oks_per_image

    m = ev.per_category[0]
    base = _oks_per_image(m, images)
    n = len(m.image_ids)
    unmatched = (m.det_match[0, 0] < 0) & ~m.det_ignore[0, 0]
    loo = leave_one_out_ap(ev, params) if n else np.zeros(0)
    ap = float(ev.stats["AP"])
    row = {int(i): r for r, i in enumerate(images.id.tolist())}
    files = np.array([str(images.file[row[int(i)]]) for i in m.image_ids], dtype=object)
    return {
        "image_id": base["image_id"],
        "file_name": files,
        "n_gt": base["n_gt"],
        "n_pred": base["n_pred"],
        "matched50": base["matched50"],
        "matched75": base["matched75"],
        "unmatched50": np.bincount(m.det_image[unmatched], minlength=n).astype(np.int64),
        "mean_oks": base["mean_oks"],
        "ap_without": loo,
        "ap_contribution": ap - loo,
    }


def write_table(path: Path, table: dict[str, np.ndarray]) -> None:
    """Write the table as ``.parquet`` or ``.csv`` (by the suffix); NaN stays null / empty."""
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise InputError(
            f"expected a .parquet or .csv file name, got {path.name!r}", field="--per-image"
        )
    if path.is_dir():
        raise InputError("is a folder; expected a file name", file=str(path), field="--per-image")
    if not path.parent.is_dir():
        raise InputError(f"folder {path.parent} does not exist", field="--per-image")
    cols = list(COLUMNS)
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrays = {}
        for c in cols:
            v = table[c]
            if v.dtype.kind == "f":
                arrays[c] = pa.array(v, mask=np.isnan(v))
            elif v.dtype == object:
                arrays[c] = pa.array([str(x) for x in v], type=pa.string())
            else:
                arrays[c] = pa.array(v)
        pq.write_table(pa.table(arrays), path)
        return
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for i in range(len(table["image_id"])):
            w.writerow([_cell(table[c][i]) for c in cols])


def _cell(v: object) -> str:
    if isinstance(v, float | np.floating):
        return "" if np.isnan(v) else repr(float(v))
    return str(v)
