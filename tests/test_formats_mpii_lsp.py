"""MPII (.mat ground truth, .mat/.h5 predictions, mmpose json) and LSP joints.mat readers."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import orjson
import pytest
import scipy.io as scipy_io

from posebench.errors import InputError
from posebench.formats.lsp import load_lsp_joints
from posebench.formats.mpii import (
    MPII_JOINT_CODES,
    load_mpii_gt,
    load_mpii_json,
    load_mpii_predictions,
)
from posebench.skeletons import LSP14, MPII16

MPII = Path(__file__).parent / "data" / "mpii"
LSP = Path(__file__).parent / "data" / "lsp"
GT_MAT = MPII / "detections_our_format.mat"
HG_S1, HG_S2 = MPII / "bearpaw_hg_s1_b1_preds.mat", MPII / "bearpaw_hg_s2_b1_preds.mat"
NEWELL, TOMPSON = MPII / "newell2016_hg8_valid_preds.h5", MPII / "tompson2015_valid_preds.h5"
WHOLE = "(whole variable)"

MPII_JSON = MPII / "test_mpii.json"


def _gt_vars() -> dict[str, np.ndarray]:
    d = scipy_io.loadmat(str(GT_MAT))
    return {k: d[k] for k in ("pos_gt_src", "jnt_missing", "headboxes_src", "dataset_joints")}


def _save(path: Path, **arrays: object) -> Path:
    scipy_io.savemat(str(path), arrays)
    return path


# ----------------------------------------------------------------------------- MPII ground truth


def test_mpii_gt_reads_the_standard_val_split() -> None:
    gt = load_mpii_gt(GT_MAT)
    assert len(gt) == 2958
    assert gt.keypoints.shape == (2958, 16, 2)
    assert gt.headboxes.shape == (2958, 2, 2)
    assert int(gt.visible.sum()) == 44240
    assert gt.keypoints[0, MPII16.index("right_ankle")] == pytest.approx([804.0, 711.0], abs=1e-4)
    assert gt.keypoints[0, MPII16.index("head_top")] == pytest.approx([962.24, 80.03], abs=1e-2)
    np.testing.assert_allclose(gt.headboxes[0], [[914.0, 79.0], [1031.0, 237.0]], atol=1e-4)
    # Person 2 misses both ankles (jnt_missing), as the mmpose json record says too.
    assert gt.visible[2].tolist() == [False] + [True] * 4 + [False] + [True] * 10
    ps = gt.to_poseset()
    assert ps.visibility is not None
    assert set(np.unique(ps.visibility)) == {0.0, 2.0}
    assert ps.extra["headbox"].shape == (2958, 2, 2)


def test_mpii_gt_honours_dataset_joints_order(tmp_path: Path) -> None:
    v = _gt_vars()
    perm = np.random.default_rng(0).permutation(16)
    codes = np.empty((1, 16), dtype=object)
    for new, old in enumerate(perm):
        codes[0, new] = MPII_JOINT_CODES[old]
    shuffled = _save(
        tmp_path / "shuffled.mat",
        pos_gt_src=v["pos_gt_src"][perm],
        jnt_missing=v["jnt_missing"][perm],
        headboxes_src=v["headboxes_src"],
        dataset_joints=codes,
    )
    a, b = load_mpii_gt(GT_MAT), load_mpii_gt(shuffled)
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    np.testing.assert_array_equal(a.visible, b.visible)


@pytest.mark.parametrize(
    ("change", "record", "field", "message"),
    [
        (lambda v: v.pop("jnt_missing"), WHOLE, "jnt_missing", "missing"),
        (
            lambda v: v.update(pos_gt_src=v["pos_gt_src"][:14]),
            WHOLE,
            "pos_gt_src",
            r"\(16, 2, N\)",
        ),
        (
            lambda v: v.update(headboxes_src=v["headboxes_src"][:, :, :5]),
            WHOLE,
            "headboxes_src",
            r"\(2, 2, 2958\)",
        ),
        (
            lambda v: v["jnt_missing"].__setitem__((3, 17), 2),
            "jnt_missing[:, 17]",
            "jnt_missing",
            "0 or 1",
        ),
        (
            lambda v: v["headboxes_src"].__setitem__(
                (1, slice(None), 40), v["headboxes_src"][0, :, 40]
            ),
            "headboxes_src[:, :, 40]",
            "headboxes_src",
            "positive",
        ),
        (
            lambda v: v["pos_gt_src"].__setitem__((0, 0, 0), np.nan),
            "pos_gt_src[:, :, 0]",
            "pos_gt_src",
            "non-finite",
        ),
        (
            lambda v: v["dataset_joints"].__setitem__((0, 3), np.array(["hand"])),
            WHOLE,
            "dataset_joints",
            "16 MPII joint codes",
        ),
    ],
)
def test_mpii_gt_bad_files_name_file_record_field(
    tmp_path: Path, change: object, record: str, field: str, message: str
) -> None:
    v = {k: a.copy() for k, a in _gt_vars().items()}
    change(v)  # type: ignore[operator]
    path = _save(tmp_path / "bad.mat", **v)
    with pytest.raises(InputError, match=message) as e:
        load_mpii_gt(path)
    assert e.value.file == str(path)
    assert e.value.record == record
    assert e.value.field == field


def test_mpii_gt_not_a_mat_file(tmp_path: Path) -> None:
    path = tmp_path / "gt.mat"
    path.write_text("this is not a MATLAB file\n")
    with pytest.raises(InputError, match="cannot read") as e:
        load_mpii_gt(path)
    assert (e.value.file, e.value.record, e.value.field) == (
        str(path),
        WHOLE,
        "pos_gt_src",
    )
    with pytest.raises(InputError, match="no such file"):
        load_mpii_gt(tmp_path / "absent.mat")


# ----------------------------------------------------------------------------- MPII predictions


def test_mpii_predictions_mat_layout() -> None:
    p = load_mpii_predictions(HG_S2, expected_count=2958)
    assert p.shape == (2958, 16, 2)
    assert p.dtype == np.float64


def test_mpii_predictions_h5_both_layouts_agree_with_the_gt_file() -> None:
    pytest.importorskip("h5py", reason="reading .h5 predictions needs h5py")
    newell = load_mpii_predictions(NEWELL)
    assert newell.shape == (2958, 16, 2)
    tompson = load_mpii_predictions(TOMPSON)  # stored (2, 16, N)
    in_gt_file = load_mpii_predictions(GT_MAT, key="pos_pred_src")  # stored (16, 2, N)
    assert tompson.shape == in_gt_file.shape == (2958, 16, 2)
    # The README: tompson.h5 equals pos_pred_src within 6e-5 px. A wrong transpose would not.
    assert np.max(np.abs(tompson - in_gt_file)) < 1e-4


def test_mpii_predictions_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="2958 predictions for 100") as e:
        load_mpii_predictions(HG_S2, expected_count=100)
    assert (e.value.record, e.value.field) == (WHOLE, "preds")
    with pytest.raises(InputError, match="'preds' is missing") as e:
        load_mpii_predictions(_save(tmp_path / "p.mat", predictions=np.zeros((3, 16, 2))))
    assert e.value.field == "preds"
    with pytest.raises(InputError, match=r"expected shape \(N, 16, 2\)") as e:
        load_mpii_predictions(_save(tmp_path / "q.mat", preds=np.zeros((3, 14, 2))))
    assert e.value.file == str(tmp_path / "q.mat")


def test_mpii_predictions_mat_v73_via_h5py(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    preds = np.random.default_rng(1).uniform(0, 500, (7, 16, 2))
    path = tmp_path / "v73.mat"
    with h5py.File(path, "w", userblock_size=512) as f:
        f["preds"] = preds.T  # MATLAB is column-major: (7, 16, 2) is stored as (2, 16, 7)
    with path.open("r+b") as f:
        f.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: test HDF5 schema 1.00 .")
    np.testing.assert_array_equal(load_mpii_predictions(path), preds)


def test_missing_optional_dependencies_give_install_hints(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ModuleNotFoundError, match="pip install h5py"):
        load_mpii_predictions(NEWELL)
    monkeypatch.setitem(sys.modules, "scipy.io", None)
    with pytest.raises(ModuleNotFoundError, match="pip install scipy"):
        load_mpii_predictions(HG_S2)


# ----------------------------------------------------------------------------- mmpose json


def test_mpii_json_matches_the_mat_ground_truth() -> None:
    poses, images = load_mpii_json(MPII_JSON)
    assert len(poses) == 5
    assert images.file.tolist() == [
        "005808361.jpg", "052475643.jpg", "051423444.jpg", "004645041.jpg", "060754485.jpg",
    ]  # fmt: skip
    np.testing.assert_array_equal(poses.image_id, np.arange(5))
    # The first three records are the first three persons of the val split.
    gt = load_mpii_gt(GT_MAT)
    assert poses.visibility is not None
    vis = poses.visibility[:3] > 0
    np.testing.assert_array_equal(vis, gt.visible[:3])
    np.testing.assert_allclose(poses.keypoints[:3][vis], gt.keypoints[:3][vis], atol=1e-4)
    assert poses.extra["center"][0].tolist() == [966.0, 340.0]
    assert poses.extra["scale"][0] == pytest.approx(4.718488)


def _json(tmp_path: Path, doc: object) -> Path:
    path = tmp_path / "ann.json"
    path.write_bytes(orjson.dumps(doc))
    return path


def _record() -> dict[str, object]:
    return {"image": "a.jpg", "joints": [[1.0, 2.0]] * 16, "joints_vis": [1] * 16}


@pytest.mark.parametrize(
    ("doc", "record", "field", "message"),
    [
        ({"image": "a.jpg"}, WHOLE, None, "list of records"),
        ([_record(), {"image": "b.jpg", "joints_vis": [1] * 16}], "[1]", "joints", "missing"),
        ([{**_record(), "image": "../../etc/passwd"}], "[0]", "image", "inside the image root"),
        ([{**_record(), "image": "/abs/a.jpg"}], "[0]", "image", "inside the image root"),
        ([{**_record(), "joints": [[1.0, 2.0]] * 14}], "[0]", "joints", r"shape \(16, 2\)"),
        ([{**_record(), "joints": "none"}], "[0]", "joints", "expected numbers"),
        ([{**_record(), "joints_vis": [2] * 16}], "[0]", "joints_vis", "0 or 1"),
        ([{**_record(), "scale": [1, 2]}], "[0]", "scale", "shape"),
    ],
)
def test_mpii_json_bad_records(
    tmp_path: Path, doc: object, record: str, field: str | None, message: str
) -> None:
    path = _json(tmp_path, doc)
    with pytest.raises(InputError, match=message) as e:
        load_mpii_json(path)
    assert (e.value.file, e.value.record, e.value.field) == (str(path), record, field)


# ----------------------------------------------------------------------------- LSP


def test_lspet_layout_and_convention() -> None:
    j = load_lsp_joints(LSP / "joints.mat")
    assert (j.layout, j.convention) == ("lspet", "visible")
    assert j.keypoints.shape == (400, 14, 2)
    assert int(j.visible.sum()) == 4866
    # Record 0: the right ankle (flag 0) lies outside the image at y = -26.1.
    assert not j.visible[0, LSP14.index("right_ankle")]
    assert j.keypoints[0, LSP14.index("right_ankle"), 1] == pytest.approx(-26.109, abs=1e-3)
    assert j.keypoints[0, LSP14.index("head_top")] == pytest.approx([116.569, 53.422], abs=1e-3)
    ps = j.to_poseset()
    assert ps.visibility is not None
    assert set(np.unique(ps.visibility)) == {0.0, 2.0}
    assert ps.image_id[0] == 1
    assert j.image_table().file[:2].tolist() == ["im00001.jpg", "im00002.jpg"]


def test_original_lsp_layout_has_the_inverted_flag(tmp_path: Path) -> None:
    ref = load_lsp_joints(LSP / "joints.mat")
    raw = scipy_io.loadmat(str(LSP / "joints.mat"))["joints"]  # (14, 3, N), 1 = visible
    lsp = np.transpose(raw, (1, 0, 2)).copy()  # (3, 14, N)
    lsp[2] = 1 - lsp[2]  # original LSP: 1 = occluded
    j = load_lsp_joints(_save(tmp_path / "joints.mat", joints=lsp))
    assert (j.layout, j.convention) == ("lsp", "occluded")
    np.testing.assert_array_equal(j.keypoints, ref.keypoints)
    np.testing.assert_array_equal(j.visible, ref.visible)
    ps = j.to_poseset()
    assert ps.visibility is not None
    assert set(np.unique(ps.visibility)) == {1.0, 2.0}
    assert j.image_table().file[0] == "im0001.jpg"
    forced = load_lsp_joints(tmp_path / "joints.mat", convention="visible")
    np.testing.assert_array_equal(forced.visible, ~ref.visible)


@pytest.mark.parametrize(
    ("joints", "record", "message"),
    [
        (np.zeros((4, 14, 5)), WHOLE, "3 x 14 x N"),
        (np.zeros((14, 3, 5)) + np.eye(1, 3, 2)[0][None, :, None] * 2, "joints[:, :, 0]", "0 or 1"),
    ],
)
def test_lsp_bad_files(tmp_path: Path, joints: np.ndarray, record: str, message: str) -> None:
    path = _save(tmp_path / "joints.mat", joints=joints)
    with pytest.raises(InputError, match=message) as e:
        load_lsp_joints(path)
    assert (e.value.file, e.value.record, e.value.field) == (str(path), record, "joints")


def test_lsp_nonfinite_visible_joint_and_missing_variable(tmp_path: Path) -> None:
    raw = scipy_io.loadmat(str(LSP / "joints.mat"))["joints"].copy()
    raw[13, 0, 7] = np.nan  # head top of record 7, visible
    assert raw[13, 2, 7] == 1
    path = _save(tmp_path / "joints.mat", joints=raw)
    with pytest.raises(InputError, match="head_top") as e:
        load_lsp_joints(path)
    assert (e.value.record, e.value.field) == ("joints[:, :, 7]", "joints")
    other = _save(tmp_path / "other.mat", points=raw)
    with pytest.raises(InputError, match="'joints' is missing") as e:
        load_lsp_joints(other)
    assert (e.value.file, e.value.record, e.value.field) == (
        str(other),
        WHOLE,
        "joints",
    )


@pytest.mark.parametrize(
    ("path", "sha256"),
    [
        (GT_MAT, "1ab6874f858046c74acdd1b9dacb8746a2ddddc331952487a9774e3ee0c2b075"),
        (HG_S1, "bcf03b0dbb80476b41888f0e2209ed026e896616aeafa9befaefeec46a407b30"),
        (HG_S2, "e55d253422cbcc9655395519f0ceb8c21f45f829c77b600fc4de708b4116e61e"),
        (NEWELL, "1814e043232b2bae94a4ac4190a46d3273249cdf85993d9dfa98082713bc77f2"),
        (TOMPSON, "9d08419d8c611fe3ffc8d3b25638858cca6a194610eb2152a52769c709c79db1"),
        (MPII_JSON, "ed7ca7abc1c2e4cdd4023f021bb169a0584d892489208c24b2b09da25f033800"),
        (LSP / "joints.mat", "ed9c3c9e4098e60836bdf1c1504713e0281953731e4c526cfcd81c421d9435bc"),
    ],
)
def test_fixtures_are_the_byte_exact_upstream_files(path: Path, sha256: str) -> None:
    # The pinned published numbers hold for these exact bytes (sources in tests/data/*/README.md).
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256
