"""The user's own dataset by path: ``posebench run --gt FILE --images DIR`` (issue 15, item 1).

A 5-keypoint custom category (not a COCO skeleton) built from the embedded sample goes through the
CLI end to end with the jitter adapter, and its AP is checked against pycocotools given the same
sigmas. Other formats (CrowdPose, MPII, LSP, Human3.6M) run with the oracle on the repository's
fixtures with blank stand-in images.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from posebench.cli.main import main
from posebench.formats.coco import results_records
from posebench.runner import load_poses
from posebench.samples import sample_images_dir, sample_path
from tests.refeval import pycocotools_eval

DATA = Path(__file__).parent / "data"
IMAGES = sample_images_dir("coco-val2017-sample")
PICK = (0, 9, 10, 15, 16)  # COCO nose, wrists, ankles
SIGMAS = (0.026, 0.062, 0.062, 0.089, 0.089)  # COCO's sigmas of those keypoints


def _five_keypoints(tmp: Path, names: tuple[str, ...], category_id: int = 7) -> Path:
    """The embedded sample's GT cut to 5 keypoints of a category with its own names."""
    d = json.loads(sample_path("coco-val2017-sample").read_text())
    for a in d["annotations"]:
        kp = a["keypoints"]
        a["keypoints"] = [v for i in PICK for v in kp[3 * i : 3 * i + 3]]
        a["num_keypoints"] = sum(1 for i in PICK if kp[3 * i + 2] > 0)
        a["category_id"] = category_id
    d["categories"] = [
        {
            "id": category_id,
            "name": "critter",
            "keypoints": list(names),
            "skeleton": [[1, 2], [1, 3], [2, 4], [3, 5]],
        }
    ]
    out = tmp / "critters.json"
    out.write_text(json.dumps(d))
    return out


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["run", *argv, "--no-progress"])
    out = capsys.readouterr()
    return code, out.out, out.err


CRITTER = ("beak", "left_claw", "right_claw", "left_foot", "right_foot")


def test_custom_skeleton_end_to_end_matches_pycocotools(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gt = _five_keypoints(tmp_path, CRITTER)
    run = tmp_path / "run"
    code, out, err = _run(
        capsys, "--adapter", "jitter", "--adapter-arg", "noise=0.05",
        "--adapter-arg", "false_positives=0.5", "--gt", str(gt), "--images", str(IMAGES),
        "--sigmas", ",".join(map(str, SIGMAS)), "--output", str(run), "--ci", "0",
    )  # fmt: skip
    assert code == 0, err
    digest = hashlib.sha256(gt.read_bytes()).hexdigest()
    res = json.loads((run / "results.json").read_text())
    # named by what it is: file name, content hash, image count; never an official name
    assert res["dataset"]["name"] == f"critters.json@{digest[:12]}"
    assert res["dataset"]["images"] == 36
    assert res["dataset"]["source"]["sha256"] == digest
    assert res["dataset"]["source"]["keypoints"] == list(CRITTER)
    assert f"on critters.json@{digest[:12]} (36 images)" in out
    assert "coco-val2017" not in json.dumps(res["dataset"])
    sig = res["conditions"]["clean"]["metrics"]["oks"]["signature"]
    assert "sigmas:custom-" in sig
    # the number: pycocotools on the same predictions with the same sigmas
    pred = load_poses(run / "predictions" / "clean.npz")
    recs = results_records(pred)
    for r in recs:
        r["category_id"] = 7
    (tmp_path / "res.json").write_text(json.dumps(recs))
    ev = pycocotools_eval(gt, tmp_path / "res.json", sigmas=np.array(SIGMAS))
    ours = res["conditions"]["clean"]["metrics"]["oks"]["values"]
    names = ["AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"]
    assert [ours[n] for n in names] == [float(v) for v in ev.stats[:10]]
    assert 0.1 < ours["AP"] < 0.9  # jitter: a real score, neither the oracle's 1 nor 0


def test_oks_without_sigmas_is_refused_with_the_way_forward(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gt = _five_keypoints(tmp_path, CRITTER)
    code, _, err = _run(
        capsys, "--adapter", "oracle", "--gt", str(gt), "--images", str(IMAGES),
        "--output", str(tmp_path / "r"),
    )  # fmt: skip
    assert code == 2
    assert "OKS needs one sigma per keypoint" in err
    assert "beak, left_claw, right_claw, left_foot, right_foot" in err
    assert "--sigmas with 5 comma-separated values" in err
    code, _, err = _run(
        capsys, "--adapter", "oracle", "--gt", str(gt), "--images", str(IMAGES),
        "--sigmas", "0.1,0.1", "--output", str(tmp_path / "r"),
    )  # fmt: skip
    assert code == 2
    assert "2 sigmas given, the file's category has 5 keypoints" in err
    code, _, err = _run(
        capsys, "--adapter", "oracle", "--gt", str(gt), "--images", str(IMAGES),
        "--sigmas", "0.1,-1,0.1,0.1,0.1", "--output", str(tmp_path / "r"),
    )  # fmt: skip
    assert code == 2
    assert "positive finite" in err


def test_coco_keypoint_names_take_their_sigmas_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = ("nose", "left_wrist", "right_wrist", "left_ankle", "right_ankle")
    gt = _five_keypoints(tmp_path, names, category_id=1)
    run = tmp_path / "run"
    code, _, err = _run(
        capsys, "--adapter", "jitter", "--gt", str(gt), "--images", str(IMAGES),
        "--output", str(run), "--ci", "0",
    )  # fmt: skip
    assert code == 0, err
    pred = load_poses(run / "predictions" / "clean.npz")
    (tmp_path / "res.json").write_text(json.dumps(results_records(pred)))
    ev = pycocotools_eval(gt, tmp_path / "res.json", sigmas=np.array(SIGMAS))
    res = json.loads((run / "results.json").read_text())
    assert res["conditions"]["clean"]["metrics"]["oks"]["values"]["AP"] == float(ev.stats[0])


def test_image_ids_subset_and_the_name_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gt = _five_keypoints(tmp_path, CRITTER)
    ids = [int(i["id"]) for i in json.loads(gt.read_text())["images"]][:3]
    id_file = tmp_path / "ids.txt"
    id_file.write_text("\n".join(map(str, ids)) + "\n")
    run = tmp_path / "sub"
    code, _out, err = _run(
        capsys, "--adapter", "oracle", "--gt", str(gt), "--images", str(IMAGES),
        "--sigmas", ",".join(map(str, SIGMAS)), "--image-ids", str(id_file),
        "--output", str(run), "--ci", "0",
    )  # fmt: skip
    assert code == 0, err
    res = json.loads((run / "results.json").read_text())
    assert res["dataset"]["images"] == 3
    assert res["dataset"]["image_ids"] == ids
    assert "@ids-" in res["dataset"]["name"]
    assert res["conditions"]["clean"]["metrics"]["oks"]["values"]["AP"] == 1.0  # the oracle
    code, _, err = _run(
        capsys, "--adapter", "oracle", "--gt", str(gt), "--images", str(IMAGES),
        "--sigmas", ",".join(map(str, SIGMAS)), "--image-ids", f"{ids[0]},424242",
        "--output", str(tmp_path / "bad"),
    )  # fmt: skip
    assert code == 2
    assert "1 of the 2 image ids are not in the file (first: 424242)" in err
    code, _, err = _run(
        capsys, "--adapter", "oracle", "--suite", "demo", "--image-ids", "139,abc",
        "--output", str(tmp_path / "bad2"),
    )  # fmt: skip
    assert code == 2
    assert "expected integer image ids, got 'abc'" in err


def test_suite_file_with_a_dataset_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _five_keypoints(tmp_path, CRITTER)
    link = tmp_path / "imgs"
    link.symlink_to(IMAGES, target_is_directory=True)
    suite = tmp_path / "mine.yaml"
    suite.write_text(
        "name: critters\n"
        "dataset: {format: coco, gt: critters.json, images: imgs,"
        f" sigmas: [{', '.join(map(str, SIGMAS))}]}}\n"
        "metrics:\n  - {name: oks}\n"
    )
    code = main(["validate", str(suite)])
    assert code == 0, capsys.readouterr()
    run = tmp_path / "run"
    code, _, err = _run(capsys, "--adapter", "oracle", "--suite", str(suite), "--output", str(run))
    assert code == 0, err
    res = json.loads((run / "results.json").read_text())
    assert res["conditions"]["clean"]["metrics"]["oks"]["values"]["AP"] == 1.0
    assert res["dataset"]["name"].startswith("critters.json@")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndataset: {format: coco, gtt: critters.json}\nmetrics: [{name: oks}]\n")
    code = main(["validate", str(bad)])
    err = capsys.readouterr()
    assert code == 2
    assert "gtt" in err.out + err.err
    gone = tmp_path / "gone.yaml"
    gone.write_text("name: x\ndataset: {format: coco, gt: nope.json, images: imgs}\n"
                    "metrics: [{name: oks}]\n")  # fmt: skip
    code = main(["validate", str(gone)])
    err = capsys.readouterr()
    assert code == 2
    assert "field 'dataset.gt': file not found" in err.out + err.err


def _blank_images(folder: Path, names: list[str], size: tuple[int, int] = (1920, 1080)) -> None:
    for n in names:
        p = folder / n
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size).save(p)


def test_other_formats_by_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # CrowdPose (COCO-style, 14 keypoints with 'head'/'neck')
    cp = DATA / "crowdpose" / "test_crowdpose.json"
    names = [i["file_name"] for i in json.loads(cp.read_text())["images"]]
    _blank_images(tmp_path / "cp", names)
    code, _, err = _run(
        capsys, "--adapter", "oracle", "--gt", str(cp), "--gt-format", "crowdpose",
        "--images", str(tmp_path / "cp"), "--output", str(tmp_path / "r-cp"), "--ci", "0",
    )  # fmt: skip
    assert code == 0, err
    res = json.loads((tmp_path / "r-cp" / "results.json").read_text())
    block = res["conditions"]["clean"]["metrics"]["oks/crowdpose"]
    assert block["values"]["AP"] == 1.0
    assert "sigmas:crowdpose14" in block["signature"]
    # MPII (mmpose json, detected from the content), no head boxes: PCK@0.2 of the box
    mp = DATA / "mpii" / "test_mpii.json"
    _blank_images(tmp_path / "mp", [r["image"] for r in json.loads(mp.read_text())])
    code, _, err = _run(
        capsys, "--adapter", "oracle", "--adapter-arg", "top_down=true", "--gt", str(mp),
        "--images", str(tmp_path / "mp"), "--output", str(tmp_path / "r-mp"), "--ci", "0",
    )  # fmt: skip
    assert code == 0, err
    res = json.loads((tmp_path / "r-mp" / "results.json").read_text())
    assert res["dataset"]["source"]["format"] == "mpii"
    assert res["conditions"]["clean"]["metrics"]["pck@0.2/bbox"]["values"]["PCK"] == 100.0
    # LSP joints.mat (LSPET layout, 400 persons), three of its images
    _blank_images(tmp_path / "lsp", [f"im{i:05d}.jpg" for i in (1, 2, 3)], (400, 400))
    code, _, err = _run(
        capsys, "--adapter", "oracle", "--adapter-arg", "top_down=true",
        "--gt", str(DATA / "lsp" / "joints.mat"), "--images", str(tmp_path / "lsp"),
        "--image-ids", "1,2,3", "--output", str(tmp_path / "r-lsp"), "--ci", "0",
    )  # fmt: skip
    assert code == 0, err
    res = json.loads((tmp_path / "r-lsp" / "results.json").read_text())
    assert res["dataset"]["images"] == 3
    assert res["conditions"]["clean"]["metrics"]["pck@0.2/torso"]["values"]["PCK"] == 100.0
    # Human3.6M .npz (3D, millimetres)
    h36 = DATA / "h36m" / "test_h36m_body3d.npz"
    with np.load(h36, allow_pickle=False) as z:
        imgs = [str(s) for s in z["imgname"]]
    _blank_images(tmp_path / "h36", imgs, (64, 64))
    code, _, err = _run(
        capsys, "--adapter", "oracle", "--adapter-arg", "top_down=true", "--gt", str(h36),
        "--images", str(tmp_path / "h36"), "--output", str(tmp_path / "r-h36"), "--ci", "0",
    )  # fmt: skip
    assert code == 0, err
    res = json.loads((tmp_path / "r-h36" / "results.json").read_text())
    assert res["conditions"]["clean"]["metrics"]["mpjpe"]["values"]["MPJPE"] == 0.0


def test_own_data_flags_need_gt_and_a_suite_or_gt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "--adapter", "oracle", "--output", str(tmp_path / "x"))
    assert code == 2
    assert "--gt FILE --images DIR" in err
    code, _, err = _run(
        capsys, "--adapter", "oracle", "--suite", "demo", "--images", str(IMAGES),
        "--output", str(tmp_path / "x"),
    )  # fmt: skip
    assert code == 2
    assert "needs --gt" in err
    code, _, err = _run(
        capsys, "--adapter", "oracle", "--gt", str(tmp_path / "nope.json"),
        "--images", str(IMAGES), "--output", str(tmp_path / "x"),
    )  # fmt: skip
    assert code == 2
    assert "nope.json" in err


def test_a_subset_under_an_official_file_name_is_not_named_after_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # the trap: 36 images saved as coco/annotations/person_keypoints_val2017.json
    root = tmp_path / "data"
    ann = root / "coco" / "annotations" / "person_keypoints_val2017.json"
    ann.parent.mkdir(parents=True)
    ann.write_bytes(sample_path("coco-val2017-sample").read_bytes())
    (root / "coco" / "val2017").symlink_to(IMAGES, target_is_directory=True)
    run = tmp_path / "run"
    code, out, err = _run(
        capsys, "--adapter", "oracle", "--suite", "coco-val2017", "--data-root", str(root),
        "--output", str(run), "--ci", "0",
    )  # fmt: skip
    assert code == 0, err
    digest = hashlib.sha256(ann.read_bytes()).hexdigest()
    res = json.loads((run / "results.json").read_text())
    assert res["dataset"]["name"] == f"person_keypoints_val2017.json@{digest[:12]}"
    assert res["dataset"]["source"]["official_images"] == 5000
    assert res["dataset"]["source"]["images_in_file"] == 36
    assert "holds 36 images, the official coco-val2017 file 5000" in caplog.text
    assert f"on person_keypoints_val2017.json@{digest[:12]} (36 images)" in out


def test_compare_pairs_runs_on_a_custom_skeleton(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from posebench.compare import compare_runs

    gt = _five_keypoints(tmp_path, CRITTER)
    runs = []
    for seed in (0, 1):
        run = tmp_path / f"s{seed}"
        code, _, err = _run(
            capsys, "--adapter", "jitter", "--adapter-arg", f"seed={seed}", "--gt", str(gt),
            "--images", str(IMAGES), "--sigmas", ",".join(map(str, SIGMAS)),
            "--output", str(run), "--ci", "0",
        )  # fmt: skip
        assert code == 0, err
        runs.append(run)
    check = compare_runs(runs[0], runs[1], n_boot=50).checks[0]
    assert check.paired  # re-bootstrapped from both runs' match records with these sigmas
    assert check.low <= check.delta <= check.high


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c.update(id="7"), "categories[0]: field 'id': expected an integer id"),
        (lambda c: c.update(id=True), "expected an integer id"),
        (lambda c: c.update(keypoints="abc"), "field 'keypoints': expected an array of non-empty"),
        (lambda c: c.update(keypoints=["a", "a", "b", "c", "d"]), "'a' appears twice"),
        (lambda c: c.update(skeleton=[[1, 9]]), "field 'skeleton[0]': expected a pair of 1-based"),
        (lambda c: c.update(skeleton="1-2"), "field 'skeleton': expected an array of index pairs"),
        (lambda c: c.update(keypoints=["\x1b[31mred", "b", "c", "d", "e"]), "\\x1b[31mred"),
    ],
)
def test_bad_categories_are_refused_naming_record_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: object, message: str
) -> None:
    gt = _five_keypoints(tmp_path, CRITTER)
    d = json.loads(gt.read_text())
    edit(d["categories"][0])  # type: ignore[operator]
    gt.write_text(json.dumps(d))
    code, _, err = _run(
        capsys, "--adapter", "oracle", "--gt", str(gt), "--images", str(IMAGES),
        "--output", str(tmp_path / "r"),
    )  # fmt: skip
    assert code == 2, err
    assert message in err
    assert "\x1b" not in err  # control characters from the file are escaped


def _perturbed_results(gt: Path, out: Path, category_id: int) -> Path:
    d = json.loads(gt.read_text())
    rng = np.random.default_rng(0)
    res = []
    for a in d["annotations"]:
        if a.get("iscrowd") or not a["num_keypoints"]:
            continue
        kp = np.asarray(a["keypoints"], float).reshape(-1, 3)
        kp[:, :2] += rng.normal(0, 3, (len(kp), 2))
        kp[:, 2] = 1.0
        rec = {"image_id": a["image_id"], "category_id": category_id}
        res.append({**rec, "keypoints": kp.ravel().tolist(), "score": float(rng.uniform(0.2, 1))})
    out.write_text(json.dumps(res))
    return out


def test_score_takes_sigmas_by_keypoint_name_or_asks_for_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = ("nose", "left_wrist", "right_wrist", "left_ankle", "right_ankle")
    gt = _five_keypoints(tmp_path, names, category_id=1)
    res = _perturbed_results(gt, tmp_path / "res.json", 1)
    code = main(["score", "--gt", str(gt), "--pred", str(res), "--format", "json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    ev = pycocotools_eval(gt, res, sigmas=np.array(SIGMAS))
    assert json.loads(out.out)["metrics"]["AP"] == float(ev.stats[0])
    critters = tmp_path / "c"
    critters.mkdir()
    gt2 = _five_keypoints(critters, CRITTER, category_id=1)
    code = main(["score", "--gt", str(gt2), "--pred", str(res)])
    err = capsys.readouterr().err
    assert code == 2
    assert "pass --sigmas with 5 comma-separated values" in err
    code = main(["score", "--gt", str(gt2), "--pred", str(res), "--format", "json",
                 "--sigmas", ",".join(map(str, SIGMAS))])  # fmt: skip
    assert code == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["AP"] == float(ev.stats[0])
