"""Hide torchvision from this interpreter, so that torchmetrics imports as it does where
torchvision is not installed.

Put this folder first on ``PYTHONPATH``. CI installs PyPI's torchvision (only for ultralytics'
version check) beside the CPU build of torch; its compiled ops do not load there, and torchmetrics
imports torchvision whenever it finds it (``torchmetrics.utilities.imports._TORCHVISION_AVAILABLE =
RequirementCache("torchvision")``, then ``from torchvision import ...`` in its image metrics).
What torchmetrics and lightning_utilities probe, and what answers here:

- ``import torchvision`` / ``importlib.util.find_spec("torchvision")``: ``sys.modules`` holds None
  for it, so the import raises ModuleNotFoundError and ``find_spec`` returns None
  (``lightning_utilities.core.imports.package_available`` / ``module_available``);
- ``importlib.metadata.version/distribution/distributions`` (``RequirementCache``): every one goes
  through ``Distribution.discover``, which here skips torchvision's distribution, so
  ``version("torchvision")`` raises PackageNotFoundError.

A ``sitecustomize`` that this one shadows (Debian's, a virtualenv's) still runs, after it.
"""

from __future__ import annotations

import importlib.machinery
import importlib.metadata
import importlib.util
import os
import re
import sys
from collections.abc import Iterable, Iterator
from typing import Any

HIDDEN = "torchvision"

for _name in [m for m in sys.modules if m == HIDDEN or m.startswith(HIDDEN + ".")]:
    del sys.modules[_name]
sys.modules[HIDDEN] = None  # type: ignore[assignment]

_discover = importlib.metadata.Distribution.discover.__func__  # type: ignore[attr-defined]


def _norm(name: str | None) -> str:
    return re.sub(r"[-_.]+", "-", name or "").lower()


def _visible(dists: Iterable[importlib.metadata.Distribution]) -> Iterator[Any]:
    for d in dists:
        try:
            name = d.metadata["Name"]
        except Exception:  # a broken distribution: not ours to judge
            name = None
        if _norm(name) != HIDDEN:
            yield d


@classmethod  # type: ignore[misc]
def _discover_without(cls: Any, **kwargs: Any) -> Iterator[Any]:
    if _norm(kwargs.get("name")) == HIDDEN:
        return iter(())
    return _visible(_discover(cls, **kwargs))


importlib.metadata.Distribution.discover = _discover_without  # type: ignore[method-assign, assignment]

# run the sitecustomize this one shadows, if any
_here = os.path.dirname(os.path.abspath(__file__))
_rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
_spec = importlib.machinery.PathFinder.find_spec("sitecustomize", _rest)
if _spec is not None and _spec.loader is not None and _spec.origin != os.path.abspath(__file__):
    _mod = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_mod)
