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

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# ``score``, ``run``, ``examine`` and ``Score`` are posebench.api's (documented there), loaded on
# first use by __getattr__ below; they are left out of __all__ so that documentation tools, which
# read the module's namespace, do not look for them before that.
__all__ = ["__version__"]

if TYPE_CHECKING:
    from posebench.api import Score as Score
    from posebench.api import examine as examine
    from posebench.api import run as run
    from posebench.api import score as score


def __getattr__(name: str) -> Any:
    """The API on first use (PEP 562): ``import posebench`` stays cheap for the CLI, which
    imports only what its subcommand needs."""
    if name in ("Score", "examine", "run", "score"):
        from posebench import api

        return getattr(api, name)
    raise AttributeError(f"module 'posebench' has no attribute {name!r}")
