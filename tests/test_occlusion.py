"""Synthetic occlusion on the real COCO sample persons: exact coverage, covered flags that match
the mask, body-part targeting (COCO-17 and CrowdPose-14), determinism and errors."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from posebench.conditions.occlusion import (
    COVERAGE,
    OCCLUSIONS,
    PART_GROUPS,
    OcclusionResult,
    occlude,
    updated_visibility,
)
from posebench.datasets import Dataset, load_dataset
from posebench.errors import InputError
from posebench.skeletons import CROWDPOSE14

AREA = ("rectangles", "ellipses", "objects")
PARTS = ("head", "arms", "hands", "legs", "lower_body")
EXLPOSE = Path(__file__).parent / "data" / "exlpose" / "test_exlpose.json"


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return load_dataset("coco-sample", None)


@pytest.fixture(scope="module")
def samples(ds: Dataset) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(image id, image, GT rows of non-crowd persons with labelled keypoints) per image."""
    gt = ds.gt
    out = []
    for iid in ds.images.id.tolist():
        rows = np.flatnonzero((gt.image_id == iid) & ~gt.iscrowd & (gt.num_keypoints > 0))
        if len(rows):
            out.append((iid, ds.load_image(iid), rows))
    return out


def _run(ds: Dataset, iid: int, img: np.ndarray, rows: np.ndarray, kind: str, s: int,
         seed: int = 0, donor: np.ndarray | None = None) -> OcclusionResult:  # fmt: skip
    gt = ds.gt
    assert gt.visibility is not None
    return occlude(
        img, gt.keypoints[rows, :, :2], gt.visibility[rows], gt.bbox[rows], kind, s, seed, iid,
        skeleton=ds.skeleton, donor=donor,
    )  # fmt: skip


def test_table_lists_every_kind() -> None:
    assert set(OCCLUSIONS) == {*AREA, *PARTS}
    assert COVERAGE == (0.1, 0.2, 0.3, 0.4, 0.5)


def _box_centres(box: np.ndarray, h: int, w: int) -> np.ndarray:
    """(h, w) bool: pixels whose centre (c + 0.5, r + 0.5) lies in the xywh box [x, x + w) x
    [y, y + h) (written from the definition, not with the module's box_pixels)."""
    x, y, bw, bh = (float(v) for v in box)
    cx, cy = np.arange(w) + 0.5, np.arange(h) + 0.5
    return ((cy >= y) & (cy < y + bh))[:, None] & ((cx >= x) & (cx < x + bw))[None, :]


def _composite_alpha(
    ds: Dataset, iid: int, img: np.ndarray, rows: np.ndarray, kind: str, s: int, donor: np.ndarray
) -> tuple[np.ndarray, OcclusionResult]:
    """The occluders' composite alpha measured from pixels alone: the same occlusion (same
    persons, seed and donor, so the same shapes and fills) on an all-black and an all-white image
    gives ``white - black = (1 - alpha) * 255`` per pixel, whatever the fill. (H, W) float64,
    within 1/255 (uint8 rounding), and the result on the black image."""
    black = _run(ds, iid, np.zeros_like(img), rows, kind, s, donor=donor)
    white = _run(ds, iid, np.full_like(img, 255), rows, kind, s, donor=donor)
    diff = white.image.astype(np.float64) - black.image.astype(np.float64)
    return 1.0 - diff.mean(axis=-1) / 255.0, black


@pytest.mark.parametrize("kind", AREA)
def test_coverage_hits_the_target_on_every_person(
    ds: Dataset, samples: list[tuple[int, np.ndarray, np.ndarray]], kind: str
) -> None:
    """Coverage measured independently of the module (its mask and ``box_coverage`` unused): the
    occluders' alpha from the pixels of a black and a white run, counted over the box pixels
    rasterised from the definition; the module's reported coverage must equal it. ``objects``
    has soft borders, and where a blob crosses
    another person's box it is capped at alpha 0.5 (not covered), which uint8 pixels cannot tell
    from the covered 0.501: those pixels (within 3.5/765 of 0.5) may count either way."""
    donor = samples[0][1]
    multi = [x for x in samples if len(x[2]) > 1]  # overlapping persons: always
    single = [x for x in samples if len(x[2]) == 1]
    n = n_alone = 0
    for s in range(1, 6):
        # time: a third of the single-person images; severities 2 and 4 on a third of the rest
        for iid, img, rows in multi + single[s::3] if s % 2 else multi[s // 2 :: 3]:
            alpha, res = _composite_alpha(ds, iid, img, rows, kind, s, donor)
            h, w = img.shape[:2]
            # the module's mask is the composite the pixels show
            np.testing.assert_allclose(res.mask, alpha, atol=1.5 / 255)
            sure = alpha > 0.5 + 3.5 / 765
            maybe = alpha > 0.5 - 3.5 / 765
            if kind != "objects":  # binary alpha: no pixel near 0.5
                assert not (maybe & ~sure).any()
            target = COVERAGE[s - 1]
            boxes = [_box_centres(ds.gt.bbox[m], h, w) for m in rows]
            for j, box in enumerate(boxes):
                # exactly the target where no other person's box overlaps (another person's
                # occluders may add to an overlapping one: at least the target there)
                alone = not any((box & b).any() for i, b in enumerate(boxes) if i != j)
                assert maybe[box].mean() >= target - 0.02, (kind, s, iid, j)
                assert not alone or sure[box].mean() <= target + 0.02, (kind, s, iid, j)
                # the module's own number is what the pixels show
                assert sure[box].mean() - 1e-9 <= res.coverage[j] <= maybe[box].mean() + 1e-9
                n_alone += alone
            assert res.occluded.all()
            n += len(rows)
    assert n > 100
    assert n_alone > 30


def test_covered_flags_match_the_mask(
    ds: Dataset, samples: list[tuple[int, np.ndarray, np.ndarray]]
) -> None:
    gt = ds.gt
    assert gt.visibility is not None
    any_cov = 0
    for kind in OCCLUSIONS:
        for iid, img, rows in samples[::3]:
            res = _run(ds, iid, img, rows, kind, 3, donor=samples[-1][1])
            h, w = img.shape[:2]
            xy = gt.keypoints[rows, :, :2]
            vis = gt.visibility[rows]
            expect = np.zeros(vis.shape, bool)
            for m in range(len(rows)):
                for k in range(vis.shape[1]):
                    c, r = int(np.floor(xy[m, k, 0])), int(np.floor(xy[m, k, 1]))
                    if vis[m, k] > 0 and 0 <= c < w and 0 <= r < h:
                        expect[m, k] = res.mask[r, c] > 0.5
            np.testing.assert_array_equal(res.covered, expect)
            any_cov += int(res.covered.sum())
            # pixels without an occluder are untouched
            np.testing.assert_array_equal(res.image[res.mask == 0], img[res.mask == 0])
            assert res.image.dtype == np.uint8
            assert res.image.shape == img.shape
    assert any_cov > 50


def test_updated_visibility() -> None:
    vis = np.array([[2.0, 1.0, 0.0, 2.0], [2.0, 2.0, 1.0, 0.0]])
    cov = np.array([[True, True, False, False], [False, True, True, False]])
    out = updated_visibility(vis, cov)
    np.testing.assert_array_equal(out, [[1, 1, 0, 2], [2, 1, 1, 0]])
    np.testing.assert_array_equal(vis, [[2, 1, 0, 2], [2, 2, 1, 0]])  # not mutated
    with pytest.raises(InputError, match="covered"):
        updated_visibility(vis, cov[:, :2])


@pytest.mark.parametrize("kind", PARTS)
def test_part_occlusion_targets_its_group(
    ds: Dataset, samples: list[tuple[int, np.ndarray, np.ndarray]], kind: str
) -> None:
    gt = ds.gt
    assert gt.visibility is not None
    names = {n for g in PART_GROUPS[kind] for n in g}
    target = np.array([n in names for n in ds.skeleton.keypoints])
    hit_t = tot_t = hit_o = tot_o = 0
    for iid, img, rows in samples:
        res = _run(ds, iid, img, rows, kind, 3)
        h, w = img.shape[:2]
        xy = gt.keypoints[rows, :, :2]
        lab = (gt.visibility[rows] > 0) & (xy[..., 0] >= 0) & (xy[..., 0] < w)
        lab &= (xy[..., 1] >= 0) & (xy[..., 1] < h)
        # every labelled keypoint of the part is covered
        assert res.covered[lab & target].all(), (kind, iid)
        hit_t += int(res.covered[lab & target].sum())
        tot_t += int((lab & target).sum())
        hit_o += int(res.covered[lab & ~target].sum())
        tot_o += int((lab & ~target).sum())
    assert tot_t > 20
    assert hit_o / tot_o < 0.45, (kind, hit_o / tot_o)  # mostly the part, not the rest


def test_part_margin_grows_with_severity(
    ds: Dataset, samples: list[tuple[int, np.ndarray, np.ndarray]]
) -> None:
    iid, img, rows = samples[1]
    areas = [float(_run(ds, iid, img, rows, "legs", s).mask.sum()) for s in range(1, 6)]
    assert all(a < b for a, b in itertools.pairwise(areas)), areas


def test_crowdpose14_parts() -> None:
    d = json.loads(EXLPOSE.read_text())
    anns = [a for a in d["annotations"] if a["image_id"] == 1]
    kp = np.array([a["keypoints"] for a in anns], float).reshape(len(anns), 14, 3)
    boxes = np.array([a["bbox"] for a in anns], float)
    img = np.full((1198, 1919, 3), 40, np.uint8)
    for kind, joints in (("head", ("head_top", "neck")), ("legs", ("left_knee", "right_ankle"))):
        res = occlude(img, kp[..., :2], kp[..., 2], boxes, kind, 2, 0, 1, skeleton=CROWDPOSE14)
        for j in joints:
            k = CROWDPOSE14.index(j)
            lab = kp[:, k, 2] > 0
            assert lab.any(), j
            assert res.covered[lab, k].all(), (kind, j)
        assert res.occluded.all()
    res = occlude(img, kp[..., :2], kp[..., 2], boxes, "ellipses", 4, 0, 1, skeleton=CROWDPOSE14)
    np.testing.assert_allclose(res.coverage, 0.4, atol=0.02)


def test_deterministic_and_seeded(
    ds: Dataset, samples: list[tuple[int, np.ndarray, np.ndarray]]
) -> None:
    iid, img, rows = samples[3]
    for kind in ("ellipses", "objects", "hands"):
        a = _run(ds, iid, img, rows, kind, 4, seed=7, donor=samples[0][1])
        b = _run(ds, iid, img.copy(), rows, kind, 4, seed=7, donor=samples[0][1].copy())
        assert a.image.tobytes() == b.image.tobytes()
        np.testing.assert_array_equal(a.covered, b.covered)
        c = _run(ds, iid, img, rows, kind, 4, seed=8, donor=samples[0][1])
        assert a.image.tobytes() != c.image.tobytes()
    # the image id is part of the seed
    d1 = _run(ds, iid, img, rows, "rectangles", 2)
    d2 = _run(ds, iid + 1, img, rows, "rectangles", 2)
    assert d1.image.tobytes() != d2.image.tobytes()


def test_objects_without_donor_and_crowd_rows(
    ds: Dataset, samples: list[tuple[int, np.ndarray, np.ndarray]]
) -> None:
    iid, img, rows = samples[5]
    gt = ds.gt
    assert gt.visibility is not None
    res = _run(ds, iid, img, rows, "objects", 2, donor=None)
    np.testing.assert_allclose(res.coverage, 0.2, atol=0.02)
    crowd = np.zeros(len(rows), bool)
    crowd[0] = True
    res = occlude(img, gt.keypoints[rows, :, :2], gt.visibility[rows], gt.bbox[rows],
                  "rectangles", 2, 0, iid, skeleton=ds.skeleton, iscrowd=crowd)  # fmt: skip
    assert not res.occluded[0]
    assert res.occluded[1:].all()


def test_no_persons_no_change(ds: Dataset) -> None:
    img = np.zeros((20, 30, 3), np.uint8) + 7
    res = occlude(img, np.zeros((0, 17, 2)), np.zeros((0, 17)), np.zeros((0, 4)), "head", 1, 0,
                  0, skeleton=ds.skeleton)  # fmt: skip
    assert res.image.tobytes() == img.tobytes()
    assert res.covered.shape == (0, 17)


def test_errors(ds: Dataset) -> None:
    img = np.zeros((20, 30, 3), np.uint8)
    kp, vis, box = np.zeros((1, 17, 2)) + 5, np.full((1, 17), 2.0), np.array([[1.0, 1, 10, 10]])
    sk = ds.skeleton
    with pytest.raises(InputError, match="did you mean 'ellipses'"):
        occlude(img, kp, vis, box, "elipses", 1, 0, 0, skeleton=sk)
    with pytest.raises(InputError, match="severity"):
        occlude(img, kp, vis, box, "head", 6, 0, 0, skeleton=sk)
    with pytest.raises(InputError, match="uint8"):
        occlude(img.astype(np.float32), kp, vis, box, "head", 1, 0, 0, skeleton=sk)
    with pytest.raises(InputError, match="visibility"):
        occlude(img, kp, vis[:, :5], box, "head", 1, 0, 0, skeleton=sk)
    with pytest.raises(InputError, match="keypoints"):
        occlude(img, kp, vis, np.zeros((2, 4)), "head", 1, 0, 0, skeleton=sk)
    with pytest.raises(InputError, match="crowdpose14"):
        occlude(img, kp, vis, box, "head", 1, 0, 0, skeleton=CROWDPOSE14)
