"""``posebench run --boxes PATH``: person boxes for top-down adapters from a COCO detections file
or from another (bottom-up) run, recorded as ``boxes:file-<digest>`` in every signature.

The oracle adapter in top-down mode returns, for each box, the ground-truth pose it overlaps most:
given the boxes of a subset of the people, its AP must equal pycocotools' AP of exactly those
ground-truth poses submitted as results.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from posebench.boxes import read_box_file
from posebench.cli.main import main
from posebench.errors import InputError
from posebench.runner import load_poses
from posebench.samples import sample_path
from tests.conftest import PYCOCOTOOLS_HINT, reference

GT = sample_path("coco-val2017-sample")


def _gt_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(GT.read_text())
    return doc


def _people(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Non-crowd annotations with labelled keypoints, in file order."""
    return [a for a in doc["annotations"] if not a.get("iscrowd") and a["num_keypoints"] > 0]


def _run(args: list[str]) -> int:
    return main(["run", "--suite", "demo", "--ci", "0", "--no-progress", "--format", "json", *args])


def _results(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "results.json").read_text())
    return data


def test_oracle_on_a_detections_file_equals_pycocotools(tmp_path: Path) -> None:
    coco = reference("pycocotools.coco", PYCOCOTOOLS_HINT)
    cocoeval = reference("pycocotools.cocoeval", PYCOCOTOOLS_HINT)
    doc = _gt_doc()
    kept = _people(doc)[::2]  # every second person is "detected"
    dets = [
        {"image_id": a["image_id"], "category_id": 1, "bbox": a["bbox"], "score": 0.5 + i / 1000}
        for i, a in enumerate(kept)
    ]
    dets.append(
        {"image_id": kept[0]["image_id"], "category_id": 2, "bbox": [0, 0, 5, 5], "score": 1}
    )
    det_file = tmp_path / "dets.json"
    det_file.write_text(json.dumps(dets))
    out = tmp_path / "run"
    assert _run(["--adapter", "oracle", "--adapter-arg", "top_down=true", "--boxes",
                 str(det_file), "--output", str(out)]) == 0  # fmt: skip
    res = _results(out)
    boxes = read_box_file(det_file)
    assert len(boxes.image_id) == len(kept)  # the non-person detection is skipped
    assert res["box_source"] == f"file-{boxes.digest}"
    assert res["boxes_from"]["kind"] == "coco-detections"
    assert res["boxes_from"]["boxes"] == len(kept)
    block = res["conditions"]["clean"]["metrics"]["oks"]
    assert f"|boxes:file-{boxes.digest}|" in block["signature"]
    # every box reached the adapter: one prediction per box, with the box itself
    pred = load_poses(out / "predictions" / "clean.npz")
    assert len(pred) == len(kept)
    got = sorted(map(tuple, np.c_[pred.image_id, pred.bbox].round(6).tolist()))
    want = sorted((a["image_id"], *np.round(a["bbox"], 6)) for a in kept)
    np.testing.assert_allclose(got, want)

    results = [
        {"image_id": a["image_id"], "category_id": 1, "score": 1.0, "keypoints": a["keypoints"]}
        for a in kept
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        gt = coco.COCO(str(GT))
        ev = cocoeval.COCOeval(gt, gt.loadRes(results), "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert 0.2 < ev.stats[0] < 0.8  # half the people: a real test of which boxes arrived
    assert block["values"]["AP"] == pytest.approx(ev.stats[0], abs=1e-12)
    assert block["values"]["AR"] == pytest.approx(ev.stats[5], abs=1e-12)


def test_boxes_from_a_bottom_up_run_and_their_own_cache(tmp_path: Path) -> None:
    bottom_up = tmp_path / "bottom-up"
    assert _run(["--adapter", "jitter", "--adapter-arg", "noise=0.05", "--adapter-arg",
                 "false_positives=0.5", "--output", str(bottom_up)]) == 0  # fmt: skip
    src = load_poses(bottom_up / "predictions" / "clean.npz")
    boxes = read_box_file(bottom_up)
    assert boxes.kind == "run"
    assert boxes.label == "jitter run"
    assert len(boxes.image_id) == len(src)
    # boxes per image, highest score first
    for image_id in np.unique(src.image_id)[:5]:
        b, s = boxes.for_image(int(image_id))
        sel = src.image_id == image_id
        order = np.argsort(-src.score[sel], kind="stable")
        np.testing.assert_array_equal(b, src.bbox[sel][order])
        np.testing.assert_array_equal(s, src.score[sel][order])

    # the same output folder on GT boxes, then on the run's boxes: another run (refused without
    # --overwrite), and with it the cache must not be reused
    out = tmp_path / "top-down"
    args = ["--adapter", "oracle", "--adapter-arg", "top_down=true", "--output", str(out)]
    assert _run(args) == 0
    on_gt = load_poses(out / "predictions" / "clean.npz")
    assert _run([*args, "--boxes", str(bottom_up)]) == 2
    assert _run([*args, "--boxes", str(bottom_up), "--overwrite"]) == 0
    on_run = load_poses(out / "predictions" / "clean.npz")
    assert len(on_run) == len(src) != len(on_gt)
    res = _results(out)
    assert res["box_source"] == f"file-{boxes.digest}"
    assert res["boxes_from"]["label"] == "jitter run"


def _fails(capsys: pytest.CaptureFixture[str], args: list[str], *needles: str) -> None:
    assert _run(args) == 2
    err = capsys.readouterr().err
    for n in needles:
        assert n in err, err


def test_bad_box_sources_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "out")
    top_down = ["--adapter", "oracle", "--adapter-arg", "top_down=true", "--output", out]
    _fails(capsys, [*top_down, "--boxes", str(tmp_path / "nope.json")], "nope.json", "not found")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"image_id": 139, "bbox": [1, 2, 3], "score": 0.9}]))
    _fails(capsys, [*top_down, "--boxes", str(bad)], "bad.json", "[0]", "bbox")
    bad.write_text(json.dumps([{"image_id": 139, "bbox": [1, 2, 3, 4]}]))
    _fails(capsys, [*top_down, "--boxes", str(bad)], "bad.json", "score", "missing")
    bad.write_text(json.dumps({"image_id": 139}))
    _fails(capsys, [*top_down, "--boxes", str(bad)], "bad.json", "list of detections")
    other = tmp_path / "other.json"
    other.write_text(json.dumps([{"image_id": 7, "bbox": [1, 2, 3, 4], "score": 0.9}]))
    _fails(capsys, [*top_down, "--boxes", str(other)], "other.json", "image ids differ")
    # a bottom-up adapter finds people itself
    det = tmp_path / "ok.json"
    det.write_text(json.dumps([{"image_id": 139, "bbox": [1, 2, 3, 4], "score": 0.9}]))
    _fails(capsys, ["--adapter", "oracle", "--output", out, "--boxes", str(det)], "bottom-up")
    # a run on GT boxes is no source of detected boxes
    gt_run = tmp_path / "gt-run"
    assert _run([*top_down[:-1], str(gt_run)]) == 0
    _fails(capsys, [*top_down, "--boxes", str(gt_run)], "results.json", "box_source")


def test_read_box_file_digest_is_content_not_name(tmp_path: Path) -> None:
    recs = [
        {"image_id": 2, "bbox": [0, 0, 4, 4], "score": 0.3},
        {"image_id": 1, "bbox": [1, 1, 2, 2], "score": 0.9},
        {"image_id": 2, "bbox": [5, 5, 4, 4], "score": 0.8},
    ]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(recs))
    b.write_text(json.dumps(recs[::-1]))
    fa, fb = read_box_file(a), read_box_file(b)
    assert fa.digest == fb.digest
    np.testing.assert_array_equal(fa.image_id, [1, 2, 2])
    np.testing.assert_array_equal(fa.score, [0.9, 0.8, 0.3])
    recs[0]["score"] = 0.31
    b.write_text(json.dumps(recs))
    assert read_box_file(b).digest != fa.digest
    with pytest.raises(InputError, match="not found"):
        read_box_file(tmp_path / "missing")
