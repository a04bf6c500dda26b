"""Adapters with planted weaknesses for the examiner tests, importable as ``module:attr``.

Design: they are the built-in oracle (``posebench.adapters.oracle.OracleAdapter``), which the
examiner shows each batch's rendered ground truth through the runner's ``prepare`` hook, exactly
as the runner shows it a dataset. So they return the exact keypoints of the rendered body, and
then break them on purpose under one condition of the scene. The condition is decided from the
same ground truth (keypoints and visibility in the image), never from the search's parameter
vector: the search only ever sees errors, so finding the weakness is a real test of it. No image
content is used and nothing is encoded in the images.
"""

from __future__ import annotations

import numpy as np

from posebench.adapters.oracle import OracleAdapter
from posebench.poseset import PoseSet
from posebench.skeletons import COCO17

_NOSE = COCO17.index("nose")
_FACE = [COCO17.index(n) for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")]
_R_WRIST = COCO17.index("right_wrist")
_R_SHOULDER = COCO17.index("right_shoulder")


def right_wrist_above_head(keypoints: np.ndarray) -> np.ndarray:
    """(N,) bool: the right wrist is higher in the image than every face keypoint.

    keypoints: (N, 17, 2) COCO-17 pixels (y down).
    """
    return np.asarray(keypoints[:, _R_WRIST, 1] < keypoints[:, _FACE, 1].min(1))


def seen_from_behind(visibility: np.ndarray) -> np.ndarray:
    """(N,) bool: the nose is inside the image but hidden (COCO v = 1) — by the head itself
    when the camera looks at the back of the body."""
    return np.asarray(visibility[:, _NOSE] == 1)


class _Planted(OracleAdapter):  # type: ignore[misc]  # mypy cannot follow posebench.adapters
    """Ground truth, displaced by ``0.5 * box height`` where :meth:`_weak` says so (1 - OKS
    close to 1) and by ``mild * box height * _near`` elsewhere (a graded error below the
    failure threshold, so that the policy gradient has a slope to climb)."""

    mild = 0.02

    def __init__(self) -> None:
        super().__init__(top_down=False, skeleton="coco17")

    def _weak(self, kp: np.ndarray, vis: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _near(self, kp: np.ndarray, vis: np.ndarray) -> np.ndarray:
        return np.zeros(len(kp))

    def _perturb(self, poses: PoseSet, image_id: int, image_size: tuple[int, int]) -> PoseSet:
        gt = self._require_gt()
        rows = self._rows_by_image.get(image_id, np.zeros(0, np.int64))
        vis = gt.visibility[rows] if gt.visibility is not None else np.full((len(rows), 17), 2.0)
        kp = poses.keypoints
        h = np.nan_to_num(poses.bbox[:, 3], nan=float(image_size[1]))
        shift = np.where(self._weak(kp, vis), 0.5, self.mild * np.clip(self._near(kp, vis), 0, 1))
        return poses.with_columns(keypoints=kp + (shift * h)[:, None, None])


class RaisedRightArmBlind(_Planted):
    """Fails only when the right wrist is above the head in the image."""

    def _weak(self, kp: np.ndarray, vis: np.ndarray) -> np.ndarray:
        return right_wrist_above_head(kp)

    def _near(self, kp: np.ndarray, vis: np.ndarray) -> np.ndarray:
        # 0 with the wrist at shoulder height or below, 1 at the top of the face.
        sh = kp[:, _R_SHOULDER, 1]
        top = kp[:, _FACE, 1].min(1)
        return np.asarray((sh - kp[:, _R_WRIST, 1]) / np.maximum(sh - top, 1.0))

    def _name(self) -> str:
        return "raised-right-arm-blind"


class BackViewBlind(_Planted):
    """Fails only when the body is seen from behind (the nose hidden by the head)."""

    def _weak(self, kp: np.ndarray, vis: np.ndarray) -> np.ndarray:
        return seen_from_behind(vis)

    def _near(self, kp: np.ndarray, vis: np.ndarray) -> np.ndarray:
        # the face turns sideways: its horizontal extent shrinks relative to the shoulders
        face_w = np.ptp(kp[:, _FACE, 0], axis=1)
        sh_w = np.abs(kp[:, COCO17.index("left_shoulder"), 0] - kp[:, _R_SHOULDER, 0])
        return np.asarray(1.0 - face_w / np.maximum(sh_w * 0.5, 1.0))

    def _name(self) -> str:
        return "back-view-blind"


def right_wrist_high(keypoints: np.ndarray, margin: float) -> np.ndarray:
    """(N,) bool: the right wrist is above every face keypoint by more than ``margin`` times the
    keypoints' vertical extent. keypoints: (N, 17, 2) COCO-17 pixels (y down)."""
    top = keypoints[:, _FACE, 1].min(1)
    h = np.maximum(np.ptp(keypoints[:, :, 1], axis=1), 1.0)
    return np.asarray(top - keypoints[:, _R_WRIST, 1] > margin * h)


def _arm_near(kp: np.ndarray, margin: float) -> np.ndarray:
    """0 with the right wrist at shoulder height or below, 1 at the weakness's height."""
    sh = kp[:, _R_SHOULDER, 1]
    h = np.maximum(np.ptp(kp[:, :, 1], axis=1), 1.0)
    goal = kp[:, _FACE, 1].min(1) - margin * h
    return np.asarray((sh - kp[:, _R_WRIST, 1]) / np.maximum(sh - goal, 1.0))


class RaisedRightArmHigh(_Planted):
    """Fails only when the right wrist is far above the head (rare: < 1% of random scenes in
    the test space, measured in tests/test_examiner_search.py)."""

    margin = 0.17

    def _weak(self, kp: np.ndarray, vis: np.ndarray) -> np.ndarray:
        return right_wrist_high(kp, self.margin)

    def _near(self, kp: np.ndarray, vis: np.ndarray) -> np.ndarray:
        return _arm_near(kp, self.margin)

    def _name(self) -> str:
        return "raised-right-arm-high"


class RaisedRightArmFromBehind(_Planted):
    """Fails only when the right wrist is well above the head and the body is seen from behind
    (rare: < 1% of random scenes in the test space, measured in the test)."""

    margin = 0.15

    def _weak(self, kp: np.ndarray, vis: np.ndarray) -> np.ndarray:
        return right_wrist_high(kp, self.margin) & seen_from_behind(vis)

    def _near(self, kp: np.ndarray, vis: np.ndarray) -> np.ndarray:
        back = BackViewBlind()._near(kp, vis)
        return 0.5 * np.clip(_arm_near(kp, self.margin), 0, 1) + 0.5 * np.clip(back, 0, 1)

    def _name(self) -> str:
        return "raised-right-arm-from-behind"


class KilledOnceRaisedRightArmBlind(RaisedRightArmBlind):
    """RaisedRightArmBlind for the Ray examiner tests: appends ``pid torch-threads id id ...``
    per predicted chunk to ``$POSEBENCH_TEST_LOG`` and, when ``$POSEBENCH_TEST_KILL_MARKER`` is
    set, SIGKILLs its own process inside its ``$POSEBENCH_TEST_KILL_AT``-th call if it is the
    first process to create the marker file (exactly one worker dies, mid-chunk, whatever the
    scheduling). ``POSEBENCH_*`` variables reach Ray workers."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def predict(self, batch):  # type: ignore[no-untyped-def]
        import torch

        from tests.fake_adapters import kill_once_at_call, log_batch

        self.calls += 1
        kill_once_at_call(self.calls)
        out = super().predict(batch)
        log_batch(batch.image_ids, torch.get_num_threads())
        return out
