"""COCO readers: round trips, the fast and parallel paths, and every bad input named precisely."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from posebench.errors import InputError
from posebench.formats import coco
from posebench.samples import sample_path

GT = sample_path("coco-val2017-4")
RES = sample_path("coco-val2017-4-results")


def _gt_dict() -> dict[str, Any]:
    return json.loads(GT.read_text())


def _res_list() -> list[dict[str, Any]]:
    return json.loads(RES.read_text())


def _write(tmp: Path, name: str, obj: Any) -> Path:
    p = tmp / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return p


def test_read_gt_columns() -> None:
    gt = coco.read_gt(GT)
    raw = _gt_dict()
    assert len(gt.images) == len(raw["images"]) == 4
    assert len(gt.poses) == len(raw["annotations"])
    a = raw["annotations"][3]
    kp = np.asarray(a["keypoints"], float).reshape(17, 3)
    assert np.array_equal(gt.poses.keypoints[3], kp[:, :2])
    assert np.array_equal(gt.poses.visibility[3], kp[:, 2])
    assert gt.poses.ann_id[3] == a["id"]
    assert gt.poses.area[3] == a["area"]
    assert gt.num_joints == 17
    assert gt.category_ids == (1,)


def test_results_round_trip_and_gzip(tmp_path: Path) -> None:
    gt = coco.read_gt(GT)
    dt = coco.read_results(RES, gt)
    out = tmp_path / "res.json.gz"
    coco.write_results(out, dt)
    assert gzip.decompress(out.read_bytes())[:1] == b"["
    back = coco.read_results(out, gt)
    for name in ("image_id", "keypoints", "keypoint_scores", "score", "category_id"):
        assert np.array_equal(getattr(back, name), getattr(dt, name)), name


def test_parallel_and_strict_paths_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gt = coco.read_gt(GT)
    res = _res_list()
    for r in res[::3]:
        r["bbox"] = [1.5, 2.0, 30.0, 40.0]
    p = _write(tmp_path, "res.json", res)
    fast = coco.read_results(p, gt)
    raw = p.read_bytes()
    # each path really produces columns on this regular file (none silently falls back)
    assert coco._parse_parallel(raw, 17) is not None
    assert coco._columns_simdjson(raw, 17) is not None
    assert coco._columns_fast(json.loads(raw), 17, raw.count(b'"'), True) is not None
    monkeypatch.setattr(coco, "PARALLEL_PARSE_BYTES", 1000)  # force the two-process path
    par = coco.read_results(p, gt)
    strict_cols = coco._strict_results(json.loads(p.read_text()), 17, str(p))
    strict = coco._poses_from_columns(strict_cols, 17)
    for other in (par, strict):
        for name in ("image_id", "keypoints", "keypoint_scores", "score", "category_id", "bbox"):
            assert np.array_equal(getattr(other, name), getattr(fast, name), equal_nan=True), name
        assert np.array_equal(other.extra["has_bbox"], fast.extra["has_bbox"])


def _expect(
    exc: pytest.ExceptionInfo[InputError],
    file: Path,
    record: str | None,
    field: str | None,
    text: str,
) -> None:
    e = exc.value
    assert e.file == str(file)
    assert e.record == record
    assert e.field == field
    assert text in str(e)


@pytest.mark.parametrize(
    ("mutate", "record", "field", "text"),
    [
        (lambda r: r[5].pop("score"), "results[5]", "score", "missing field"),
        (lambda r: r[7].update(score=-0.5), "results[7]", "score", "negative score"),
        (
            lambda r: r[2].update(score="high"),
            "results[2]",
            "score",
            "expected a number, got string",
        ),
        (
            lambda r: r[3].update(keypoints=r[3]["keypoints"][:-3]),
            "results[3]",
            "keypoints",
            "expected 51 numbers",
        ),
        (
            lambda r: r[4]["keypoints"].__setitem__(10, None),
            "results[4]",
            "keypoints",
            "element 10 is null",
        ),
        (lambda r: r[1].update(image_id="785"), "results[1]", "image_id", "expected an integer"),
        (lambda r: r[6].pop("category_id"), "results[6]", "category_id", "missing field"),
        (
            lambda r: r.__setitem__(8, [1, 2, 3]),
            "results[8]",
            None,
            "expected an object, got array",
        ),
        (lambda r: r[9].update(bbox=[1, 2, 3]), "results[9]", "bbox", "expected 4 numbers"),
    ],
)
def test_bad_results_records(
    tmp_path: Path, mutate: Any, record: str, field: str | None, text: str
) -> None:
    gt = coco.read_gt(GT)
    res = _res_list()
    mutate(res)
    p = _write(tmp_path, "bad.json", res)
    with pytest.raises(InputError) as exc:
        coco.read_results(p, gt)
    _expect(exc, p, record, field, text)


def test_nan_and_infinity_are_named(tmp_path: Path) -> None:
    gt = coco.read_gt(GT)
    res = _res_list()
    res[11]["keypoints"][4] = float("nan")
    p = tmp_path / "nan.json"
    p.write_text(json.dumps(res))  # Python writes the non-JSON literal NaN
    with pytest.raises(InputError) as exc:
        coco.read_results(p, gt)
    _expect(exc, p, "results[11]", "keypoints", "element 4 is nan")
    res = _res_list()
    res[12]["score"] = float("inf")
    p.write_text(json.dumps(res))
    with pytest.raises(InputError) as exc:
        coco.read_results(p, gt)
    _expect(exc, p, "results[12]", "score", "finite")


def test_unknown_images_are_listed(tmp_path: Path) -> None:
    gt = coco.read_gt(GT)
    res = _res_list()
    for i, r in enumerate(res[:8]):
        r["image_id"] = 900000 + i
    p = _write(tmp_path, "bad.json", res)
    with pytest.raises(InputError) as exc:
        coco.read_results(p, gt)
    _expect(exc, p, "results[0]", "image_id", "8 image id(s) not in the ground truth")
    assert "900000, 900001, 900002, 900003, 900004 and 3 more" in str(exc.value)


def test_unknown_category(tmp_path: Path) -> None:
    gt = coco.read_gt(GT)
    res = _res_list()
    res[20]["category_id"] = 3
    p = _write(tmp_path, "bad.json", res)
    with pytest.raises(InputError) as exc:
        coco.read_results(p, gt)
    _expect(exc, p, "results[20]", "category_id", "unknown category 3")


@pytest.mark.parametrize(
    ("content", "text"),
    [
        ("", "file is empty"),
        ("   \n", "file is empty"),
        ("[{'image_id': 1}]", "not valid JSON"),
        ('{"a": 1}', "top level is object; a results file is an array"),
    ],
)
def test_bad_results_files(tmp_path: Path, content: str, text: str) -> None:
    p = _write(tmp_path, "bad.json", content)
    with pytest.raises(InputError) as exc:
        coco.read_results(p, coco.read_gt(GT))
    assert exc.value.file == str(p)
    assert text in str(exc.value)


@pytest.mark.parametrize(
    ("mutate", "record", "field", "text"),
    [
        (
            lambda d: d["annotations"][2].update(id=d["annotations"][1]["id"]),
            "annotations[2]",
            "id",
            "duplicate annotation id",
        ),
        (
            lambda d: d["annotations"][0].pop("keypoints"),
            "annotations[0]",
            "keypoints",
            "missing field",
        ),
        (
            lambda d: d["annotations"][4].update(image_id=1),
            "annotations[4]",
            "image_id",
            "not in 'images'",
        ),
        (
            lambda d: d["annotations"][5].update(category_id=2),
            "annotations[5]",
            "category_id",
            "category id 2",
        ),
        (
            lambda d: d["annotations"][6].update(area="big"),
            "annotations[6]",
            "area",
            "expected a number",
        ),
        (
            lambda d: d["annotations"][7].update(iscrowd=2),
            "annotations[7]",
            "iscrowd",
            "expected 0 or 1",
        ),
        (
            lambda d: d["annotations"][8].update(num_keypoints=-1),
            "annotations[8]",
            "num_keypoints",
            ">= 0",
        ),
        (
            lambda d: d["annotations"][1]["keypoints"].append(0),
            "annotations[1]",
            "keypoints",
            "expected 51 numbers",
        ),
        (
            lambda d: d["images"][1].update(id=d["images"][0]["id"]),
            "images[1]",
            "id",
            "duplicate image id",
        ),
        (lambda d: d.pop("annotations"), None, "annotations", "missing top-level field"),
        (lambda d: d.update(images={}), None, "images", "expected an array"),
    ],
)
def test_bad_ground_truth(
    tmp_path: Path, mutate: Any, record: str | None, field: str, text: str
) -> None:
    d = _gt_dict()
    mutate(d)
    p = _write(tmp_path, "gt.json", d)
    with pytest.raises(InputError) as exc:
        coco.read_gt(p)
    _expect(exc, p, record, field, text)


def test_gt_top_level_list(tmp_path: Path) -> None:
    p = _write(tmp_path, "gt.json", [1, 2])
    with pytest.raises(InputError, match="top level is array"):
        coco.read_gt(p)


def test_missing_file_and_corrupt_gzip(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        coco.read_gt(tmp_path / "absent.json")
    p = tmp_path / "x.json.gz"
    p.write_bytes(b"\x1f\x8b" + b"garbage")
    with pytest.raises(InputError, match="corrupt gzip"):
        coco.read_gt(p)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "posebench", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_bad_input_exit_code_2_without_traceback(tmp_path: Path) -> None:
    res = _res_list()
    res[5].pop("score")
    p = _write(tmp_path, "bad.json", res)
    out = _cli("score", "--gt", str(GT), "--pred", str(p))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert f"{p}: results[5]: field 'score': missing field" in out.stderr
