"""File formats: readers and writers that convert datasets to and from the columnar arrays.

The loaders, re-exported here :

- COCO keypoints: :func:`read_gt` -> :class:`CocoGroundTruth`, :func:`read_results` ->
  :class:`~posebench.poseset.PoseSet`, :func:`write_results`;
- COCO-WholeBody: :func:`read_wholebody_gt`, :func:`read_wholebody_results`;
- MPII: :func:`load_mpii_gt`, :func:`load_mpii_predictions`; LSP: :func:`load_lsp_joints`;
- Human3.6M: :func:`load_h36m_npz`; prediction arrays of any of them: :func:`load_pose_array`.

    >>> from posebench.formats import read_gt
    >>> from posebench.samples import sample_path
    >>> gt = read_gt(sample_path("coco-val2017-4"))
    >>> len(gt.images), len(gt.poses), gt.num_joints
    (4, 14, 17)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from posebench.formats.arrays import load_pose_array
    from posebench.formats.coco import CocoGroundTruth, read_gt, read_results, write_results
    from posebench.formats.coco_wholebody import read_wholebody_gt, read_wholebody_results
    from posebench.formats.h36m import load_h36m_npz
    from posebench.formats.lsp import load_lsp_joints
    from posebench.formats.mpii import load_mpii_gt, load_mpii_predictions

#: Each re-exported name and its module, imported on first use (PEP 562), so that importing one
#: format (``posebench score`` reads COCO only) does not import the others.
_WHERE = {
    "load_pose_array": "arrays",
    "CocoGroundTruth": "coco",
    "read_gt": "coco",
    "read_results": "coco",
    "write_results": "coco",
    "read_wholebody_gt": "coco_wholebody",
    "read_wholebody_results": "coco_wholebody",
    "load_h36m_npz": "h36m",
    "load_lsp_joints": "lsp",
    "load_mpii_gt": "mpii",
    "load_mpii_predictions": "mpii",
}

__all__ = [
    "CocoGroundTruth",
    "load_h36m_npz",
    "load_lsp_joints",
    "load_mpii_gt",
    "load_mpii_predictions",
    "load_pose_array",
    "read_gt",
    "read_results",
    "read_wholebody_gt",
    "read_wholebody_results",
    "write_results",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
