"""Failure modes in words and the real-photo check: features from hand-made COCO-17 poses,
descriptions, matching a dataset's people by mode, and the embedded sample's annotations."""

from __future__ import annotations

import numpy as np
import pytest

from posebench.examiner.modes import describe, mode_features, photo_check
from posebench.skeletons import COCO17

K = {n: i for i, n in enumerate(COCO17.keypoints)}


def _person(*, right_up: bool = False, back: bool = False, hidden: int = 0) -> np.ndarray:
    """(17, 3) a standing person 300 px tall facing the camera (its left on the image right)."""
    p = np.zeros((17, 3))
    pts = {
        "nose": (100, 40), "left_eye": (105, 35), "right_eye": (95, 35), "left_ear": (112, 38),
        "right_ear": (88, 38), "left_shoulder": (125, 80), "right_shoulder": (75, 80),
        "left_elbow": (130, 130), "right_elbow": (70, 130), "left_wrist": (132, 175),
        "right_wrist": (68, 175), "left_hip": (115, 180), "right_hip": (85, 180),
        "left_knee": (115, 250), "right_knee": (85, 250), "left_ankle": (115, 320),
        "right_ankle": (85, 320),
    }  # fmt: skip
    for n, (x, y) in pts.items():
        p[K[n]] = (x, y, 2)
    if right_up:
        p[K["right_elbow"], :2] = (72, 40)
        p[K["right_wrist"], :2] = (74, 5)
    if back:  # seen from behind: left and right swap sides in the image
        p[:, 0] = 200 - p[:, 0]
    for j in range(hidden):
        p[j, 2] = 1
    return p


def test_features_of_hand_made_people() -> None:
    people = np.stack([_person(), _person(right_up=True, back=True, hidden=5)])
    f = mode_features(people[..., :2], people[..., 2], 400.0)
    assert f.row(0) == {"left_arm": "down", "right_arm": "down", "left_leg": "down",
                        "right_leg": "down", "view": "front", "torso": "upright",
                        "occlusion": "none", "size": "large"}  # fmt: skip
    r = f.row(1)
    assert r["right_arm"] == "above the head"
    assert r["left_arm"] == "down"
    assert r["view"] == "back"
    assert r["occlusion"] == "partly"  # 5 of 17 hidden
    assert f.occluded[1] == pytest.approx(5 / 17)
    assert describe(r, float(f.occluded[1])) == (
        "right arm raised above the head, seen from behind, 29% of keypoints occluded"
    )
    assert describe(f.row(0), 0.0) == "an ordinary standing pose seen from the front"


def test_photo_check_compares_the_people_in_the_mode_with_the_rest() -> None:
    people = [_person(right_up=True, back=True)] * 3 + [_person(right_up=True)] * 2
    people += [_person()] * 5
    arr = np.stack(people)
    f = mode_features(arr[..., :2], arr[..., 2], 400.0)
    oks = np.array([0.1, 0.2, 0.3, 0.5, 0.6, 0.8, 0.8, 0.9, 0.7, np.nan])
    mode = f.row(0)
    pc = photo_check(mode, f, oks, dataset="toy")
    assert pc["matched_on"] == {"right_arm": "above the head", "view": "back"}
    assert pc["in_mode"] == 3
    assert pc["rest"] == 6  # the NaN person is not scorable
    assert pc["oks_in_mode"] == pytest.approx(0.2)
    assert pc["oks_rest"] == pytest.approx((0.5 + 0.6 + 0.8 + 0.8 + 0.9 + 0.7) / 6)
    assert pc["holds"] is True
    # fewer than min_people in the mode: the most common feature goes first (the arm, 5
    # people), then the view alone has 3: too few; the rarest single feature with enough
    # people is the arm (5)
    pc4 = photo_check(mode, f, oks, dataset="toy", min_people=4)
    assert pc4["matched_on"] == {"right_arm": "above the head"}
    assert pc4["in_mode"] == 5
    assert pc4["rest"] == 4
    assert pc4["oks_in_mode"] == pytest.approx((0.1 + 0.2 + 0.3 + 0.5 + 0.6) / 5)
    assert pc4["oks_rest"] == pytest.approx((0.8 + 0.8 + 0.9 + 0.7) / 4)
    assert pc4["holds"] is True
    # no feature has 6 people: nothing is left to match on
    pc6 = photo_check(mode, f, oks, dataset="toy", min_people=6)
    assert pc6["matched_on"] == {}
    assert pc6["in_mode"] == 9
    assert pc6["holds"] is False
    pc3 = photo_check(_only_arm(f), f, oks, dataset="toy", min_people=4)
    assert pc3["matched_on"] == {"right_arm": "above the head"}
    assert pc3["in_mode"] == 5


def _only_arm(f: object) -> dict[str, str]:
    """The features of a front-view person with the right arm above the head."""
    row = dict(mode_features(np.stack([_person(right_up=True)])[..., :2],
                             np.full((1, 17), 2.0), 400.0).row(0))  # fmt: skip
    return row


def test_sample_annotations_have_every_view() -> None:
    from posebench.datasets import load_dataset

    ds = load_dataset("coco-sample", None)
    gt = ds.gt
    f = mode_features(np.asarray(gt.keypoints[..., :2]), np.asarray(gt.visibility), 480.0)
    views = set(f.values["view"].tolist())
    assert views == {"front", "back", "side"}
