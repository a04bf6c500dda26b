"""``posebench score`` outputs people parse: ``--format coco`` (the reference's summarize()
block, byte for byte), ``--image-ids`` (pycocotools' ``params.imgIds``) and ``--per-image``
(per-image records; each image's leave-one-out AP equals pycocotools' AP without it)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from posebench.cli.main import main
from posebench.samples import sample_path
from tests.conftest import PYCOCOTOOLS_HINT, XTCOCOTOOLS_HINT, quiet, reference

DATA = Path(__file__).parent / "data"
GT4 = sample_path("coco-val2017-4")
RES4 = sample_path("coco-val2017-4-results")
FCE = (DATA / "coco" / "fce_gt_139099.json", DATA / "coco" / "fce_dt_139099.json")


def _pycocotools(gt: Path, res: Path, img_ids: list[int] | None = None) -> tuple[object, str]:
    """pycocotools' COCOeval (evaluated, accumulated) and what its summarize() prints."""
    reference("pycocotools", PYCOCOTOOLS_HINT)
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with quiet():
        cg = COCO(str(gt))
        ev = COCOeval(cg, cg.loadRes(str(res)), "keypoints")
        if img_ids is not None:
            ev.params.imgIds = img_ids
        ev.evaluate()
        ev.accumulate()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        ev.summarize()
    return ev, buf.getvalue()


def _score(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["score", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(("gt", "res"), [(GT4, RES4), FCE], ids=["sample4", "fce139099"])
def test_format_coco_is_pycocotools_summarize_byte_for_byte(
    capsys: pytest.CaptureFixture[str], gt: Path, res: Path
) -> None:
    _, expected = _pycocotools(gt, res)
    code, out, _ = _score(capsys, "--gt", str(gt), "--pred", str(res), "--format", "coco")
    assert code == 0
    assert out == expected


def test_format_coco_prints_undefined_as_pycocotools_does(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # only large persons on this image set: the medium lines are -1.000 in pycocotools
    gt = json.loads(GT4.read_text())
    big = [a for a in gt["annotations"] if a["area"] > 96**2]
    gt["annotations"] = big
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    ids = {a["image_id"] for a in big}
    res = [r for r in json.loads(RES4.read_text()) if r["image_id"] in ids]
    (tmp_path / "res.json").write_text(json.dumps(res))
    _, expected = _pycocotools(tmp_path / "gt.json", tmp_path / "res.json")
    assert "-1.000" in expected
    code, out, _ = _score(
        capsys, "--gt", str(tmp_path / "gt.json"), "--pred", str(tmp_path / "res.json"),
        "--format", "coco",
    )  # fmt: skip
    assert code == 0
    assert out == expected


def test_format_coco_crowdpose_is_xtcocotools_summarize(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    reference("xtcocotools", XTCOCOTOOLS_HINT)
    from xtcocotools.coco import COCO
    from xtcocotools.cocoeval import COCOeval

    from posebench.skeletons import CROWDPOSE14

    gt = DATA / "crowdpose" / "test_crowdpose.json"
    d = json.loads(gt.read_text())
    rng = np.random.default_rng(0)
    res = []
    for a in d["annotations"]:
        kp = np.asarray(a["keypoints"], float).reshape(-1, 3)
        kp[:, :2] += rng.normal(0, 4, (len(kp), 2))
        kp[:, 2] = 1.0
        res.append({"image_id": a["image_id"], "category_id": 1, "keypoints": kp.ravel().tolist(),
                    "score": float(rng.uniform(0.3, 1))})  # fmt: skip
    (tmp_path / "res.json").write_text(json.dumps(res))
    with quiet():
        cg = COCO(str(gt))
        ev = COCOeval(cg, cg.loadRes(str(tmp_path / "res.json")), "keypoints_crowd",
                      CROWDPOSE14.oks_sigmas(), use_area=False)  # fmt: skip
        ev.evaluate()
        ev.accumulate()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        ev.summarize()
    code, out, _ = _score(
        capsys, "--gt", str(gt), "--pred", str(tmp_path / "res.json"), "--mode", "crowdpose",
        "--format", "coco",
    )  # fmt: skip
    assert code == 0
    assert out == buf.getvalue()


def test_image_ids_is_pycocotools_img_ids(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ids = [785, 196141]
    ev, _expected = _pycocotools(GT4, RES4, img_ids=ids)
    (tmp_path / "ids.json").write_text(json.dumps(ids))
    for spec in ("785,196141", str(tmp_path / "ids.json")):
        code, out, _ = _score(
            capsys, "--gt", str(GT4), "--pred", str(RES4), "--image-ids", spec, "--format", "json"
        )
        assert code == 0
        doc = json.loads(out)
        names = ["AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"]
        ours = [doc["metrics"][n] if doc["metrics"][n] is not None else -1.0 for n in names]
        assert ours == [float(v) for v in ev.stats]  # type: ignore[attr-defined]
        assert doc["counts"]["images"] == 2
    code, _, err = _score(capsys, "--gt", str(GT4), "--pred", str(RES4), "--image-ids", "785,7")
    assert code == 2
    assert "1 of the 2 image ids are not in the ground truth (first: 7)" in err


@pytest.mark.parametrize(("gt", "res"), [(GT4, RES4), FCE], ids=["sample4", "fce139099"])
def test_per_image_leave_one_out_ap_is_pycocotools_without_the_image(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, gt: Path, res: Path
) -> None:
    out_csv = tmp_path / "per_image.csv"
    code, _, err = _score(capsys, "--gt", str(gt), "--pred", str(res), "--per-image", str(out_csv))
    assert code == 0, err
    rows = list(csv.DictReader(out_csv.open()))
    all_ids = [int(r["image_id"]) for r in rows]
    ev_all, _ = _pycocotools(gt, res)
    ap_all = float(ev_all.stats[0])  # type: ignore[attr-defined]
    for r in rows:
        others = [i for i in all_ids if i != int(r["image_id"])]
        if others:
            ev, _ = _pycocotools(gt, res, img_ids=others)
            assert float(r["ap_without"]) == float(ev.stats[0])  # type: ignore[attr-defined]
            assert float(r["ap_contribution"]) == ap_all - float(ev.stats[0])  # type: ignore[attr-defined]
        else:
            assert r["ap_without"] == ""  # no image left: undefined, empty in CSV
    # counts against the GT file itself
    g = json.loads(gt.read_text())
    for r in rows:
        anns = [a for a in g["annotations"] if a["image_id"] == int(r["image_id"])]
        assert int(r["n_gt"]) == sum(1 for a in anns if not a["iscrowd"] and a["num_keypoints"] > 0)


def test_per_image_parquet_and_bad_names(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "p.parquet"
    code, _, _ = _score(capsys, "--gt", str(GT4), "--pred", str(RES4), "--per-image", str(out))
    assert code == 0
    t = pq.read_table(out).to_pydict()
    assert t["image_id"] == [785, 40083, 196141, 197388]
    assert t["file_name"][0] == "000000000785.jpg"
    assert min(t["ap_contribution"]) == t["ap_contribution"][3]  # the worst image here
    for bad, msg in ((tmp_path / "p.txt", "expected a .parquet or .csv"),
                     (tmp_path / "nope" / "p.csv", "does not exist")):  # fmt: skip
        code, _, err = _score(
            capsys, "--gt", str(GT4), "--pred", str(RES4), "--per-image", str(bad)
        )
        assert code == 2
        assert msg in err


def test_run_format_coco_is_pycocotools_summarize_of_its_predictions(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from posebench.formats.coco import results_records
    from posebench.runner import load_poses

    run = tmp_path / "run"
    code = main(["run", "--adapter", "jitter", "--suite", "demo", "--output", str(run),
                 "--ci", "0", "--format", "coco", "--no-progress"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    pred = load_poses(run / "predictions" / "clean.npz")
    (tmp_path / "res.json").write_text(json.dumps(results_records(pred)))
    _, expected = _pycocotools(sample_path("coco-val2017-sample"), tmp_path / "res.json")
    assert out == expected
