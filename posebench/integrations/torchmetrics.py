"""torchmetrics ``Metric`` forms of the streaming metrics (needs ``pip install torchmetrics``).

Each class keeps the columns of its :mod:`posebench.metrics.stateful` twin as torchmetrics
list states (``dist_reduce_fx="cat"``), so torchmetrics' own sync gathers them across ranks;
``compute`` hands the gathered columns to the twin, which gives the batch numbers bit for bit.

    >>> import numpy as np
    >>> from posebench.integrations.torchmetrics import MPJPE
    >>> m = MPJPE()
    >>> gt = np.zeros((2, 3, 3)); pred = gt.copy(); pred[:, 1:] += [0.0, 0.0, 2.0]
    >>> m.update(pred, gt)
    >>> m.compute()
    {'MPJPE': 1.3333333333333333}
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

try:
    import torch
    from torchmetrics import Metric
except ImportError as e:  # pragma: no cover - exercised only without torchmetrics
    raise ImportError(
        f"posebench.integrations.torchmetrics needs torch and torchmetrics ({e}); "
        "pip install torchmetrics"
    ) from None

from posebench.metrics import stateful

_OKS_COLUMNS = (
    "img_id", "img_crowd", "gt_img", "gt_kp", "gt_vis", "gt_area", "gt_bbox", "gt_iscrowd",
    "gt_numkp", "gt_id", "gt_has_id", "dt_img", "dt_kp", "dt_kps", "dt_score", "dt_bbox",
    "dt_has_bbox",
)  # fmt: skip
_SINGLE = ("pred", "gt", "ids", "has_ids")
#: boolean columns travel as uint8 (not every torch.distributed backend gathers bool tensors).
_BOOL = frozenset({"gt_iscrowd", "gt_has_id", "dt_has_bbox", "has_ids", "visible", "mask"})


class _Wrapped(Metric):  # type: ignore[misc, unused-ignore]
    """A torchmetrics Metric around a posebench streaming metric."""

    full_state_update: bool | None = False
    _twin: ClassVar[type[stateful.StreamingMetric]]
    _columns: ClassVar[tuple[str, ...]]

    def __init__(self, *, metric_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._kwargs = dict(metric_kwargs or {})
        self._twin(**self._kwargs)  # validate the options now
        for c in self._columns:
            self.add_state(c, default=[], dist_reduce_fx="cat")

    def update(self, *args: Any, **kwargs: Any) -> None:
        """As the twin's ``update``."""
        one = self._twin(**self._kwargs)
        one.update(*args, **kwargs)  # type: ignore[attr-defined]
        for c, v in one.state().items():
            a = v.astype(np.uint8) if c in _BOOL else v
            getattr(self, c).append(torch.from_numpy(np.ascontiguousarray(a)))

    def compute(self) -> dict[str, float]:
        """As the twin's ``compute``, over every update (and rank)."""
        cols: dict[str, np.ndarray] = {}
        for c in self._columns:
            v = getattr(self, c)
            if isinstance(v, list):
                if not v:
                    continue
                v = torch.cat(v)
            a = v.cpu().numpy()
            cols[c] = a.astype(bool) if c in _BOOL else a
        if "gt" in cols:  # single person: an optional column never given gathers as empty
            cols = {c: v for c, v in cols.items() if len(v) == len(cols["gt"])}
        twin = self._twin(**self._kwargs)
        return twin._compute(cols)


class OKSAveragePrecision(_Wrapped):
    """:class:`posebench.metrics.stateful.OKSAveragePrecision` as a torchmetrics Metric;
    ``metric_kwargs`` are its options (``{"mode": "crowdpose"}``)."""

    higher_is_better = True
    _twin = stateful.OKSAveragePrecision
    _columns = _OKS_COLUMNS


class PCKh(_Wrapped):
    """:class:`posebench.metrics.stateful.PCKh` as a torchmetrics Metric."""

    higher_is_better = True
    _twin = stateful.PCKh
    _columns = (*_SINGLE, "visible", "headboxes")


class PCK(_Wrapped):
    """:class:`posebench.metrics.stateful.PCK` as a torchmetrics Metric."""

    higher_is_better = True
    _twin = stateful.PCK
    _columns = (*_SINGLE, "visible", "boxes")


class MPJPE(_Wrapped):
    """:class:`posebench.metrics.stateful.MPJPE` as a torchmetrics Metric."""

    higher_is_better = False
    _twin = stateful.MPJPE
    _columns = (*_SINGLE, "mask", "actions")


class PAMPJPE(_Wrapped):
    """:class:`posebench.metrics.stateful.PAMPJPE` as a torchmetrics Metric."""

    higher_is_better = False
    _twin = stateful.PAMPJPE
    _columns = (*_SINGLE, "mask", "actions")


class NMPJPE(_Wrapped):
    """:class:`posebench.metrics.stateful.NMPJPE` as a torchmetrics Metric."""

    higher_is_better = False
    _twin = stateful.NMPJPE
    _columns = (*_SINGLE, "mask", "actions")


__all__ = ["MPJPE", "NMPJPE", "PAMPJPE", "PCK", "OKSAveragePrecision", "PCKh"]
