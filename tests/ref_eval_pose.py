"""Test reference: a Python port of the LSP evaluation of the MPII benchmark's pose code.

Ported from bearpaw/eval_pose (Wei Yang; PCP and PCK "from a widely used version from the MPII
Human Pose Dataset", PDJ from Chen & Yuille NIPS'14):

* ``utils/keypoints2sticks.m`` @ 8e04f4bc963916a1afe1274203e5bf9b00bceb7b
* ``utils/eval_pcp.m``, ``utils/eval_pck.m``, ``utils/eval_pdj.m``
  @ f6c71b64c8183aa71f18577494fa32d3b0536396
* the protocol constants of ``demo_eval_lsp.m`` @ 8e04f4bc963916a1afe1274203e5bf9b00bceb7b

The port keeps MATLAB's layout (``joints`` is 2 x 14 x N, columns are joints, 1-based ids in the
symmetry tables), its loops and its order of operations, so that a reader can hold it beside
the .m files; it is not used by the library. Two MATLAB built-ins are reproduced: the colon
operator (``0:0.01:0.2``, computed from both ends as MATLAB does) and ``quadgk`` over ``interp1``
(the integral of a piecewise-linear curve, which is its trapezoid sum; quadgk reaches it to its
tolerance, about 1e-10 relative).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# demo_eval_lsp.m
REFERENCE_JOINTS_PAIR = (3, 10)  # right hip and left shoulder (torso diameter for PDJ)
SYMMETRY_JOINT_ID = (6, 5, 4, 3, 2, 1, 12, 11, 10, 9, 8, 7, 14, 13)
JOINT_NAME = ("Ankle", "Knee", "Hip", "Wris", "Elbo", "Shou", "Head")
SYMMETRY_PART_ID = (4, 3, 2, 1, 8, 7, 6, 5, 9, 10)
PART_NAME = ("L.legs", "U.legs", "L.arms", "U.arms", "Head", "Torso")


def colon(a: float, d: float, b: float) -> FloatArray:
    """MATLAB ``a:d:b``: the first half as ``a + k*d``, the second as ``a + n*d - (n-k)*d``."""
    n = math.floor((b - a) / d + 1e-10)
    out = np.empty(n + 1)
    end = a + n * d
    for k in range(n + 1):
        out[k] = a + k * d if k < n / 2 else end - (n - k) * d
    return out


def _norm(v: FloatArray) -> float:
    return float(np.sqrt(np.sum(v * v)))


def keypoints2sticks(keypoints: FloatArray) -> FloatArray:
    """(2, 14, N) LSP joints -> (2, 20, N) endpoints of the 10 sticks (two columns each)."""
    assert keypoints.shape[1] == 14
    sticks = np.zeros((2, 20, keypoints.shape[2]))
    # MATLAB 1-based columns: sticks(:,1:2)=kp(:,1:2), (:,3:4)=kp(:,2:3), ... (:,17:18)=kp(:,13:14)
    for dst, src in ((1, 1), (3, 2), (5, 4), (7, 5), (9, 7), (11, 8), (13, 10), (15, 11), (17, 13)):
        sticks[:, dst - 1 : dst + 1, :] = keypoints[:, src - 1 : src + 1, :]
    sticks[:, 18, :] = np.mean(keypoints[:, 2:4, :], axis=1)  # mean(keypoints(:,3:4,:),2)
    sticks[:, 19, :] = np.mean(keypoints[:, 8:10, :], axis=1)  # mean(keypoints(:,9:10,:),2)
    return sticks


def eval_pcp(
    pred_sticks: FloatArray,
    joints: FloatArray,
    symmetry_part_id: tuple[int, ...] = SYMMETRY_PART_ID,
) -> tuple[FloatArray, FloatArray]:
    """Strict PCP at 0.5, in percent.

    Returns:
        (per_stick, shown): the 10 per-stick values plus the mean (11,), before the symmetric
        averaging, and the printed row (7,): L.legs, U.legs, L.arms, U.arms, Head, Torso, Mean.
    """
    show = [i for i, s in enumerate(symmetry_part_id, start=1) if s >= i]
    rng = 0.5
    gt_sticks = keypoints2sticks(joints[0:2])
    assert pred_sticks.shape == gt_sticks.shape
    n_img = pred_sticks.shape[2]
    n_st = gt_sticks.shape[1] // 2
    dist = np.full((gt_sticks.shape[1], n_img), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        for img in range(n_img):
            for j in range(1, n_st + 1):
                j1, j2 = 2 * (j - 1), 2 * (j - 1) + 1
                length = _norm(gt_sticks[:, j1, img] - gt_sticks[:, j2, img])
                dist[j1, img] = (
                    np.float64(_norm(gt_sticks[:, j1, img] - pred_sticks[:, j1, img])) / length
                )
                dist[j2, img] = (
                    np.float64(_norm(gt_sticks[:, j2, img] - pred_sticks[:, j2, img])) / length
                )
    pcp = np.zeros(n_st + 1)
    match_all = []
    for j in range(1, n_st + 1):
        j1, j2 = 2 * (j - 1), 2 * (j - 1) + 1
        match = (dist[j1] <= rng) & (dist[j2] <= rng)
        pcp[j - 1] = 100 * np.mean(match)
        match_all.append(match)
    pcp[-1] = 100 * np.mean(np.concatenate(match_all))
    per_stick = pcp.copy()
    sym = np.array(symmetry_part_id) - 1
    pcp[:-1] = (pcp[:-1] + pcp[sym]) / 2
    return per_stick, np.array([*(pcp[i - 1] for i in show), pcp[-1]])


def eval_pck(
    pred: FloatArray, joints: FloatArray, symmetry_joint_id: tuple[int, ...] = SYMMETRY_JOINT_ID
) -> tuple[FloatArray, float, FloatArray]:
    """PCK at 0.2 of the torso diameter (left shoulder to right hip), in percent.

    Returns:
        (shown, auc, pck_all): the printed row (8,): Ankle, Knee, Hip, Wris, Elbo, Shou, Head,
        Mean; the AUC of the Mean curve over 0:0.01:0.2; the (21, 15) curve table.
    """
    rng = colon(0, 0.01, 0.2)
    show = [s >= i for i, s in enumerate(symmetry_joint_id, start=1)]
    gt = joints[0:2]
    assert pred.shape == gt.shape
    n_j, n_img = pred.shape[1], pred.shape[2]
    dist = np.full((n_j, n_img), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        for img in range(n_img):
            if n_j == 14:
                ref = _norm(gt[:, 9, img] - gt[:, 2, img])  # norm(gt(:,10) - gt(:,3))
            else:
                raise ValueError("this port covers the 14 LSP joints")
            dist[:, img] = np.sqrt(np.sum((pred[:, :, img] - gt[:, :, img]) ** 2, axis=0)) / ref
    pck_all = np.zeros((len(rng), n_j + 1))
    for j in range(n_j):
        for k, r in enumerate(rng):
            pck_all[k, j] = 100 * np.mean(dist[j] <= r)
    for k, r in enumerate(rng):
        pck_all[k, -1] = 100 * np.mean(dist.T.reshape(-1) <= r)
    pck = pck_all[-1].copy()
    sym = np.array(symmetry_joint_id) - 1
    pck[:-1] = (pck[:-1] + pck[sym]) / 2
    shown = np.array([*pck[:-1][np.array(show)], pck[-1]])
    return shown, area_under_curve(scale01(rng), pck_all[:, -1]), pck_all


def eval_pdj(
    pred: FloatArray,
    joints: FloatArray,
    reference_joints_pair: tuple[int, int] = REFERENCE_JOINTS_PAIR,
    symmetry_joint_id: tuple[int, ...] = SYMMETRY_JOINT_ID,
) -> tuple[FloatArray, FloatArray]:
    """PDJ over 0:0.01:0.5 of the reference-pair distance, as fractions.

    Returns:
        (accs, range): (51, 7) rates for the shown joints (Ankle ... Head), and the thresholds.
    """
    show = [i for i, s in enumerate(symmetry_joint_id, start=1) if s >= i]
    rng = colon(0, 0.01, 0.5)
    num = pred.shape[2]
    joint_n = joints.shape[1]
    scale = np.zeros(num)
    for ii in range(num):
        a, b = reference_joints_pair
        scale[ii] = _norm(joints[:, a - 1, ii] - joints[:, b - 1, ii])
    dists = np.zeros((num, joint_n))
    with np.errstate(invalid="ignore", divide="ignore"):
        for ii in range(num):
            dists[ii] = np.sqrt(np.sum((pred[:, :, ii] - joints[:, :, ii]) ** 2, axis=0))
            dists[ii] = dists[ii] / scale[ii]
    accs = np.zeros((len(rng), joint_n))
    for ii, r in enumerate(rng):
        accs[ii] = np.mean(dists <= r, axis=0)
    sym = np.array(symmetry_joint_id) - 1
    accs = (accs + accs[:, sym]) / 2
    return accs[:, np.array(show) - 1], rng


def scale01(x: FloatArray) -> FloatArray:
    """Rescale to [0, 1] (MPII toolkit's ``scale01``)."""
    return (x - x.min()) / (x.max() - x.min())


def area_under_curve(xpts: FloatArray, ypts: FloatArray) -> float:
    """``quadgk(@(x) interp1(xpts, ypts, x), min, max)``: the trapezoid sum of the polyline."""
    order = np.unique(xpts, return_index=True)[1]  # [ignore, I, J] = unique(xpts)
    x, y = xpts[order], ypts[order]
    if len(x) < 2:
        return float("nan")
    return float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)))
