"""The compiled columnar JSON reader against the validating Python reader.

The fast path (``posebench/formats/_fastjson.c``) must accept only what the validating reader
accepts and give the same numbers; anything else it hands back (None) so that the validating reader
names the error. Checked here: every JSON number shape against Python's ``float()``, seeded
results and ground-truth files written with varied formatting against the reader with the
extension hidden, chunk boundaries anywhere in a record, and a corpus of irregular files whose
outcome (columns or the error message) must be the same on both paths.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import random
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from posebench.errors import InputError
from posebench.formats import coco, fastjson
from posebench.synthetic import make_keypoint_dataset

DATA = Path(__file__).parent / "data"
PKG_DATA = Path(__file__).parent.parent / "posebench" / "data"

if not fastjson.available():
    msg = (
        "posebench.formats._fastjson is not built (no C compiler at install time?): "
        "`pip install -e .` builds it"
    )
    if os.environ.get("POSEBENCH_REQUIRE_REFERENCES") == "1" or os.environ.get("CI"):
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg, allow_module_level=True)


@pytest.fixture
def no_extension(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastjson, "_fastjson", None)


def _validating(fn: Any, *args: Any, **kw: Any) -> Any:
    """Call ``fn`` with the compiled parser hidden (the pure-Python readers only)."""
    saved = fastjson._fastjson
    fastjson._fastjson = None
    try:
        return fn(*args, **kw)
    finally:
        fastjson._fastjson = saved


def _outcome(fn: Any, *args: Any, **kw: Any) -> Any:
    try:
        return fn(*args, **kw)
    except InputError as e:
        return f"InputError: {e}"


# ------------------------------------------------------------------------------------ numbers


def _random_literal(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.1:
        return rng.choice(
            ["0", "-0", "0.0", "-0.0", "1e22", "1e23", "9007199254740992", "9007199254740993",
             "9007199254740993.0", "5e-324", "2.2250738585072014e-308", "1.7976931348623157e308",
             "4.9406564584124654e-324", "2.4703282292062327e-324", "123456789012345678901234567",
             "0.1", "0.30000000000000004", "1E5", "1e+5", "1e-5", "-1E-0", "100e-2"]
        )  # fmt: skip
    sign = "-" if rng.random() < 0.3 else ""
    int_part = str(rng.randrange(1, 10)) + "".join(
        rng.choice("0123456789") for _ in range(rng.randrange(0, 20))
    )
    if rng.random() < 0.2:
        int_part = "0"
    frac = ""
    if rng.random() < 0.7:
        frac = "." + "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 22)))
    exp = ""
    if rng.random() < 0.3:
        exp = rng.choice("eE") + rng.choice(["", "+", "-"]) + str(rng.randrange(0, 330))
    return sign + int_part + frac + exp


def test_every_number_shape_equals_python_float() -> None:
    rng = random.Random(20261206)
    for _ in range(60000):
        lit = _random_literal(rng)
        want = float(lit)
        got = fastjson._fastjson.parse_float(lit.encode())
        if not math.isfinite(want):
            continue  # out of range: the record parser refuses non-finite values
        assert got is not None, lit
        assert struct.pack("<d", got) == struct.pack("<d", want), (lit, got, want)


def test_random_doubles_round_trip_through_repr() -> None:
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2**63 - 1, 20000, dtype=np.int64).view(np.float64)
    values = np.concatenate([bits[np.isfinite(bits)], rng.normal(0, 500, 20000)])
    for v in values.tolist():
        for lit in (repr(v), f"{v:.6g}", f"{v:.3f}", json.dumps(v)):
            got = fastjson._fastjson.parse_float(lit.encode())
            assert got is not None
            assert struct.pack("<d", got) == struct.pack("<d", float(lit))


@pytest.mark.parametrize(
    "lit", ["01", "1.", ".5", "+1", "1e", "1e+", "-", "--1", "0x10", "NaN", "Infinity", "1_0", ""]
)
def test_what_json_does_not_allow_is_refused(lit: str) -> None:
    assert fastjson._fastjson.parse_float(lit.encode()) is None


# ------------------------------------------------------------------------------------ results


def _dump_records(records: list[dict[str, Any]], rng: random.Random) -> str:
    """JSON text of ``records`` in one of several layouts (compact, spaced, indented,
    shuffled keys, extra numeric keys)."""
    style = rng.randrange(4)
    out = []
    for r in records:
        items = list(r.items())
        if style == 2:
            rng.shuffle(items)
        if style == 3 and rng.random() < 0.5:
            items.append(("id", rng.randrange(10**6)))
            items.append(("area", [1.5, 2]))
        r2 = dict(items)
        if style == 0:
            out.append(json.dumps(r2, separators=(",", ":")))
        elif style == 1:
            out.append(json.dumps(r2))
        else:
            out.append(json.dumps(r2, indent=1))
    sep = [",", ", ", ",\n", " ,\r\n\t"][style]
    return "[" + sep.join(out) + "]\n"


def _assert_same_poses(a: Any, b: Any) -> None:
    for name in ("image_id", "category_id", "score", "bbox", "ann_id", "num_keypoints"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    np.testing.assert_array_equal(a.keypoint_scores, b.keypoint_scores)
    np.testing.assert_array_equal(a.extra["has_bbox"], b.extra["has_bbox"])


@pytest.mark.parametrize("seed", range(12))
def test_results_files_equal_the_validating_reader(
    tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    bbox = ["always", "never", "mixed"][seed % 3]
    gt_dict, results = make_keypoint_dataset(
        12, seed=seed, bbox=bbox, int_coords=seed % 4 == 1, dets_per_image=6.0
    )
    gt_path = tmp_path / "gt.json"
    gt_path.write_text(json.dumps(gt_dict))
    res_path = tmp_path / ("res.json.gz" if seed % 5 == 4 else "res.json")
    text = _dump_records(results, rng)
    if res_path.suffix == ".gz":
        res_path.write_bytes(gzip.compress(text.encode()))
    else:
        res_path.write_text(text)
    gt = coco.read_gt(gt_path)
    # tiny chunks: records and numbers cut at every possible place
    monkeypatch.setattr(fastjson, "CHUNK_BYTES", rng.choice([1, 3, 17, 64, 1000]))
    if res_path.suffix == ".json":
        assert fastjson.read_columns(res_path, 17) is not None  # the fast path took it
    fast = coco.read_results(res_path, gt)
    slow = _validating(coco.read_results, res_path, gt)
    _assert_same_poses(fast, slow)
    lean = coco.read_results(res_path, gt, keypoint_scores=False)
    assert lean.keypoint_scores is None
    np.testing.assert_array_equal(lean.keypoints, slow.keypoints)


def test_gt_and_results_read_together_equal_sequential_reads(tmp_path: Path) -> None:
    gt_dict, results = make_keypoint_dataset(30, seed=3)
    (tmp_path / "gt.json").write_text(json.dumps(gt_dict))
    (tmp_path / "res.json").write_text(json.dumps(results))
    gt, dt, _ = coco.read_gt_and_results(tmp_path / "gt.json", tmp_path / "res.json")
    gt2 = _validating(coco.read_gt, tmp_path / "gt.json")
    dt2 = _validating(coco.read_results, tmp_path / "res.json", gt2)
    _assert_same_poses(dt, dt2)
    np.testing.assert_array_equal(gt.poses.keypoints, gt2.poses.keypoints)


def test_results_with_another_k_than_the_gt_give_the_validating_error(tmp_path: Path) -> None:
    gt_dict, results = make_keypoint_dataset(5, seed=1)
    for r in results:
        r["keypoints"] = r["keypoints"][:42]  # 14 keypoints against a 17-keypoint GT
    (tmp_path / "gt.json").write_text(json.dumps(gt_dict))
    (tmp_path / "res.json").write_text(json.dumps(results))
    with pytest.raises(InputError) as fast:
        coco.read_gt_and_results(tmp_path / "gt.json", tmp_path / "res.json")
    with pytest.raises(InputError) as slow:
        _validating(coco.read_results, tmp_path / "res.json", coco.read_gt(tmp_path / "gt.json"))
    assert str(fast.value) == str(slow.value)
    assert "results[0]" in str(fast.value)
    assert "keypoints" in str(fast.value)


_KP = [1.5, 2.5, 1] * 17
_REC = {"image_id": 1, "category_id": 1, "keypoints": _KP, "score": 0.5}
IRREGULAR_RESULTS = {
    "duplicate key": '[{"image_id":1,"image_id":2,"category_id":1,"keypoints":%s,"score":0.5}]',
    "duplicate extra key": '[{"a":1,"a":2,"image_id":1,"category_id":1,"keypoints":%s,"score":1}]',
    "boolean score": '[{"image_id":1,"category_id":1,"keypoints":%s,"score":true}]',
    "string id": '[{"image_id":"1","category_id":1,"keypoints":%s,"score":0.5}]',
    "float id": '[{"image_id":1.0,"category_id":1,"keypoints":%s,"score":0.5}]',
    "huge id": '[{"image_id":18446744073709551616,"category_id":1,"keypoints":%s,"score":1}]',
    "null keypoint": '[{"image_id":1,"category_id":1,"keypoints":%s,"score":0.5}]',
    "nested keypoints": '[{"image_id":1,"category_id":1,"keypoints":[%s],"score":0.5}]',
    "negative score": '[{"image_id":1,"category_id":1,"keypoints":%s,"score":-0.5}]',
    "overflowing score": '[{"image_id":1,"category_id":1,"keypoints":%s,"score":1e999}]',
    "missing score": '[{"image_id":1,"category_id":1,"keypoints":%s}]',
    "escaped key": '[{"image\\u005fid":1,"category_id":1,"keypoints":%s,"score":0.5}]',
    "string extra": '[{"image_id":1,"category_id":1,"keypoints":%s,"score":0.5,"note":"x"}]',
    "object extra": '[{"image_id":1,"category_id":1,"keypoints":%s,"score":0.5,"o":{}}]',
    "short bbox": '[{"image_id":1,"category_id":1,"keypoints":%s,"score":0.5,"bbox":[1,2,3]}]',
    "trailing comma": '[{"image_id":1,"category_id":1,"keypoints":%s,"score":0.5},]',
    "trailing garbage": '[{"image_id":1,"category_id":1,"keypoints":%s,"score":0.5}] x',
    "not an array": '{"image_id":1,"category_id":1,"keypoints":%s,"score":0.5}',
    "byte order mark": '\ufeff[{"image_id":1,"category_id":1,"keypoints":%s,"score":0.5}]',
    "NaN literal": '[{"image_id":1,"category_id":1,"keypoints":%s,"score":NaN}]',
    "empty array": "[]%s",
    "empty object": "[{}]%s",
}


@pytest.mark.parametrize("name", sorted(IRREGULAR_RESULTS))
def test_irregular_results_get_the_validating_readers_outcome(tmp_path: Path, name: str) -> None:
    kp = json.dumps(_KP)
    if name == "null keypoint":
        kp = json.dumps([None, *_KP[1:]])
    elif name == "nested keypoints":
        kp = json.dumps([[1.5, 2.5, 1]] * 17)[1:-1]
    elif name in ("empty array", "empty object"):
        kp = ""
    gt_dict, _ = make_keypoint_dataset(3, seed=0)
    gt_dict["images"][0]["id"] = 1
    for a in gt_dict["annotations"]:
        a["image_id"] = 1
    gt_path, res = tmp_path / "gt.json", tmp_path / "res.json"
    gt_path.write_text(json.dumps(gt_dict))
    res.write_text(IRREGULAR_RESULTS[name] % kp, encoding="utf-8")
    if name not in ("empty array",):
        assert fastjson.read_columns(res, 17) is None, "the fast path must hand this back"
    gt = coco.read_gt(gt_path)
    fast = _outcome(coco.read_results, res, gt)
    slow = _outcome(_validating, coco.read_results, res, gt)
    if isinstance(slow, str):
        assert fast == slow
    else:
        _assert_same_poses(fast, slow)


# ------------------------------------------------------------------------------------ ground truth


def _assert_same_gt(a: coco.CocoGroundTruth, b: coco.CocoGroundTruth) -> None:
    assert a.categories == b.categories
    assert a.num_joints == b.num_joints
    for name in ("id", "width", "height", "crowd_index"):
        x, y = getattr(a.images, name), getattr(b.images, name)
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)
    assert list(a.images.file) == list(b.images.file)
    for name in ("image_id", "keypoints", "visibility", "bbox", "area", "iscrowd",
                 "num_keypoints", "ann_id", "category_id"):  # fmt: skip
        x, y = getattr(a.poses, name), getattr(b.poses, name)
        assert x.dtype == y.dtype, name
        assert x.shape == y.shape, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    np.testing.assert_array_equal(
        a.poses.extra["has_num_keypoints"], b.poses.extra["has_num_keypoints"]
    )


GT_FILES = [
    PKG_DATA / "coco_val2017_sample" / "person_keypoints.json",
    PKG_DATA / "coco_val2017_4" / "person_keypoints.json",
    DATA / "crowdpose" / "crowdpose_val.json.gz",
    DATA / "crowdpose" / "test_crowdpose.json",
    DATA / "ochuman" / "test_ochuman.json",
]


@pytest.mark.parametrize("path", GT_FILES, ids=lambda p: p.name)
def test_real_ground_truth_files_equal_the_validating_reader(path: Path) -> None:
    from posebench.formats.jsonio import read_bytes

    assert coco._read_gt_fast(read_bytes(path), str(path), None) is not None  # fast path taken
    _assert_same_gt(coco.read_gt(path), _validating(coco.read_gt, path))


@pytest.mark.parametrize("seed", range(6))
def test_synthetic_ground_truth_equals_the_validating_reader(tmp_path: Path, seed: int) -> None:
    gt_dict, _ = make_keypoint_dataset(40, seed=seed, skeleton=("coco17", "crowdpose14")[seed % 2])
    rng = random.Random(seed)
    for a in gt_dict["annotations"]:  # optional fields dropped at random
        for key in ("area", "num_keypoints", "iscrowd", "bbox", "segmentation"):
            if rng.random() < 0.15:
                a.pop(key, None)
    gt_dict["info"]["nested"] = [{"a": [1, 2, {"b": None}], "c": "é\\u00e9\n"}, True, False]
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt_dict, indent=seed % 3 or None, ensure_ascii=seed % 2 == 0))
    _assert_same_gt(coco.read_gt(path), _validating(coco.read_gt, path))


IRREGULAR_GT = {
    "duplicate top-level key": lambda t: t.replace('"images":', '"images": [], "images":', 1),
    "duplicate annotation id": None,
    "unknown image id": None,
    "iscrowd 2": None,
    "float annotation id": None,
    "string keypoint": None,
    "escaped file name": None,
    "negative area": None,
    "annotations not an array": None,
}


@pytest.mark.parametrize("name", sorted(IRREGULAR_GT))
def test_irregular_ground_truth_gets_the_validating_readers_outcome(
    tmp_path: Path, name: str
) -> None:
    gt_dict, _ = make_keypoint_dataset(4, seed=2)
    anns = gt_dict["annotations"]
    if name == "duplicate annotation id":
        anns[1]["id"] = anns[0]["id"]
    elif name == "unknown image id":
        anns[0]["image_id"] = 10**9
    elif name == "iscrowd 2":
        anns[0]["iscrowd"] = 2
    elif name == "float annotation id":
        anns[0]["id"] = 7.0
    elif name == "string keypoint":
        anns[0]["keypoints"][0] = "1"
    elif name == "escaped file name":
        gt_dict["images"][0]["file_name"] = 'a"b.jpg'
    elif name == "negative area":
        anns[0]["area"] = -1
    elif name == "annotations not an array":
        gt_dict["annotations"] = {"0": anns[0]}
    text = json.dumps(gt_dict)
    fix = IRREGULAR_GT[name]
    if fix is not None:
        text = fix(text)
    path = tmp_path / "gt.json"
    path.write_text(text)
    from posebench.formats.jsonio import read_bytes

    assert coco._read_gt_fast(read_bytes(path), str(path), None) is None
    fast = _outcome(coco.read_gt, path)
    slow = _outcome(_validating, coco.read_gt, path)
    if isinstance(slow, str) or isinstance(fast, str):
        assert fast == slow
    else:
        _assert_same_gt(fast, slow)
