"""posebench: evaluation and robustness benchmarking for human pose estimation.

The stable API:

- :func:`posebench.score` ``(preds, gt, *, metric="oks-coco", ...)`` -> :class:`posebench.Score`
- :func:`posebench.run` ``(*, adapter, suite, output, ...)`` -> the run's results
- :func:`posebench.examine` ``(*, adapter, output, ...)`` -> the examiner run's results
- :mod:`posebench.formats` (file loaders), :mod:`posebench.metrics.table` (the metric table),
  :mod:`posebench.metrics.stateful` (streaming metrics for training loops),
  :mod:`posebench.integrations` (torchmetrics, mmpose and ultralytics glue).
"""

from __future__ import annotations

__version__ = "0.1.0"

from posebench.api import Score, examine, run, score

__all__ = ["Score", "__version__", "examine", "run", "score"]
