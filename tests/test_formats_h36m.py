"""Human3.6M mmpose ``.npz`` reader: the real fixtures and bad files."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from posebench.errors import InputError
from posebench.formats.h36m import (
    H36M_ACTIONS,
    SPIN24_TO_H36M17,
    canonical_action,
    load_h36m_npz,
    parse_image_name,
)
from posebench.skeletons import H36M17

DATA = Path(__file__).parent / "data" / "h36m"
BODY3D = DATA / "test_h36m_body3d.npz"
SPIN = DATA / "test_h36m.npz"


def test_reads_the_17_joint_fixture() -> None:
    a = load_h36m_npz(BODY3D)
    assert len(a) == 4
    assert a.skeleton == "h36m17"
    assert a.joints_3d.shape == (4, H36M17.num_keypoints, 3)
    # Parsed from the file names (see tests/data/h36m/README.md).
    assert a.subject.tolist() == ["S1", "S5", "S7", "S8"]
    assert a.action.tolist() == ["Directions", "SittingDown", "Greeting", "WalkDog"]
    assert a.action_raw.tolist() == ["Directions_1", "SittingDown", "Greeting", "WalkDog_1"]
    assert a.camera.tolist() == ["54138969", "54138969", "55011271", "55011271"]
    assert a.frame.tolist() == [1, 2061, 396, 26]
    assert set(a.action) <= set(H36M_ACTIONS)
    # Coordinates exactly as stored (metres), read independently here.
    with np.load(BODY3D, allow_pickle=False) as raw:
        assert np.array_equal(a.joints_3d, raw["S"][:, :, :3])
        assert np.array_equal(a.joints_2d, raw["part"][:, :, :2])
        assert np.array_equal(a.image_name, raw["imgname"])
    assert a.visible_3d.all()
    assert a.visible_2d is not None
    assert a.visible_2d.all()
    assert a.center is not None
    assert a.center.shape == (4, 2)
    assert a.scale is not None
    assert a.scale.shape == (4,)
    # Camera coordinates in metres: people stand about 5 m in front of the camera.
    assert np.all((a.joints_3d[:, :, 2] > 3) & (a.joints_3d[:, :, 2] < 8))


def test_spin24_fixture_maps_onto_the_17_joint_one() -> None:
    s = load_h36m_npz(SPIN)
    assert s.skeleton == "spin24"
    assert s.joints_3d.shape == (4, 24, 3)
    assert set(s.extra) == {"pose", "shape", "iuv_names"}
    assert s.extra["pose"].shape == (4, 72)
    assert not s.visible_3d.all()  # the face joints have no 3D ground truth
    as17 = s.h36m17()
    body = load_h36m_npz(BODY3D)
    assert as17.skeleton == "h36m17"
    assert as17.visible_3d.all()
    # Two files, one set of frames: same joints to float32 rounding (< 1 micrometre).
    assert np.allclose(as17.joints_3d, body.joints_3d, rtol=0, atol=1e-6)
    assert as17.subject.tolist() == body.subject.tolist()
    assert len(set(SPIN24_TO_H36M17)) == 17
    assert body.h36m17() is body


def test_to_poseset_and_image_table() -> None:
    a = load_h36m_npz(BODY3D)
    ps = a.to_poseset()
    assert ps.keypoints.shape == (4, 17, 3)
    assert ps.num_joints == 17
    assert ps.image_id.tolist() == [1, 2, 3, 4]
    assert np.all(ps.visibility == 2.0)
    assert ps.extra["action"].tolist() == a.action.tolist()
    ps.keypoints[0, 0, 0] = 123.0  # a copy: the annotations are not changed through it
    assert a.joints_3d[0, 0, 0] != 123.0
    images = a.image_table()
    assert images.file[0].endswith("S1_Directions_1.54138969_000001.jpg")


@pytest.mark.parametrize(
    ("name", "subject", "action", "raw", "camera", "frame"),
    [
        ("S1_Directions_1.54138969_000001.jpg", "S1", "Directions", "Directions_1", "54138969", 1),
        ("S5/S5_SittingDown.54138969/S5_SittingDown.54138969_002061.jpg", "S5", "SittingDown",
         "SittingDown", "54138969", 2061),
        ("S1_TakingPhoto_1.58860488_000010.jpg", "S1", "Photo", "TakingPhoto_1", "58860488", 10),
        ("S1_WalkingDog.60457274_000100.png", "S1", "WalkDog", "WalkingDog", "60457274", 100),
        ("S11_WalkTogether_2.55011271_001234.jpg", "S11", "WalkTogether", "WalkTogether_2",
         "55011271", 1234),
    ],
)  # fmt: skip
def test_parse_image_name(
    name: str, subject: str, action: str, raw: str, camera: str, frame: int
) -> None:
    p = parse_image_name(name)
    assert (p.subject, p.action, p.action_raw, p.camera, p.frame) == (
        subject,
        action,
        raw,
        camera,
        frame,
    )


def test_canonical_action_and_bad_names() -> None:
    assert canonical_action("Eating 2") == "Eating"
    assert canonical_action("Walking") == "Walking"
    for bad in ("Directions.54138969_000001.jpg", "S1_Directions_1_000001.jpg", "S1_.1_1.jpg"):
        with pytest.raises(ValueError, match="image name"):
            parse_image_name(bad)


# --------------------------------------------------------------------------------------------
# Bad files


def _write(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return path


def _good() -> dict[str, np.ndarray]:
    with np.load(BODY3D, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        load_h36m_npz(path)
    assert info.value.file == str(path)
    return info.value


def test_not_an_npz(tmp_path: Path) -> None:
    p = tmp_path / "x.npz"
    p.write_bytes(b"not a zip file")
    _error(p)
    q = tmp_path / "single.npy"
    np.save(q, np.zeros(3))
    assert "single .npy" in str(_error(q))


def test_missing_keys(tmp_path: Path) -> None:
    good = _good()
    for key in ("S", "imgname"):
        arrays = {k: v for k, v in good.items() if k != key}
        e = _error(_write(tmp_path / f"no_{key}.npz", **arrays))
        assert e.field == key
        assert "missing" in str(e)


def test_pickled_object_arrays_are_refused(tmp_path: Path) -> None:
    good = _good()
    good["imgname"] = np.array(list(good["imgname"]), dtype=object)
    e = _error(_write(tmp_path / "obj.npz", **good))
    assert e.field == "imgname"
    assert "pickle" in str(e)


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("S", np.zeros((4, 17, 2)), r"\(N=4, K, 4\)"),
        ("S", np.zeros((3, 17, 4)), r"\(N=4, K, 4\)"),
        ("S", np.zeros((4, 15, 4)), "17 .* or 24"),
        ("S", np.array([["a"] * 4] * 4), "numbers"),
        ("part", np.zeros((4, 16, 3)), r"\(4, 17, 3\)"),
        ("center", np.zeros((4, 3)), r"\(4, 2\)"),
        ("scale", np.zeros((5,)), r"\(4,\)"),
        ("imgname", np.zeros(4), "strings"),
    ],
)
def test_bad_shapes_and_types(tmp_path: Path, key: str, value: np.ndarray, match: str) -> None:
    arrays = _good()
    arrays[key] = value
    e = _error(_write(tmp_path / "bad.npz", **arrays))
    assert e.field == key
    assert e.record == "(whole array)"
    assert re.search(match, e.detail), e.detail  # says what was expected


def test_bad_records_are_named(tmp_path: Path) -> None:
    arrays = _good()
    s = arrays["S"].copy()
    s[2, 5, 3] = 0.5  # a flag that is neither 0 nor 1
    e = _error(_write(tmp_path / "flag.npz", **{**arrays, "S": s}))
    assert e.field == "S"
    assert e.record == "record 2 (S7/S7_Greeting.55011271/S7_Greeting.55011271_000396.jpg)"
    assert "0.5" in str(e)

    s = arrays["S"].copy()
    s[1, 3, 0] = np.nan  # visible joint without coordinates
    e = _error(_write(tmp_path / "nan.npz", **{**arrays, "S": s}))
    assert e.field == "S"
    assert isinstance(e.record, str)
    assert e.record.startswith("record 1 ")

    s[1, 3, 3] = 0.0  # the same joint marked invisible is fine
    ok = load_h36m_npz(_write(tmp_path / "nan_hidden.npz", **{**arrays, "S": s}))
    assert not ok.visible_3d[1, 3]

    names = arrays["imgname"].copy()
    names[3] = "S8/walking_dog_frame_26.jpg"
    e = _error(_write(tmp_path / "name.npz", **{**arrays, "imgname": names}))
    assert e.field == "imgname"
    assert isinstance(e.record, str)
    assert e.record.startswith("record 3 ")
