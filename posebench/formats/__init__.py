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

from posebench.formats.arrays import load_pose_array
from posebench.formats.coco import CocoGroundTruth, read_gt, read_results, write_results
from posebench.formats.coco_wholebody import read_wholebody_gt, read_wholebody_results
from posebench.formats.h36m import load_h36m_npz
from posebench.formats.lsp import load_lsp_joints
from posebench.formats.mpii import load_mpii_gt, load_mpii_predictions

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
