"""Scenes: balance on the ground, the photo/texture background bank (no person in a photo
crop), the occluder as a box in the z-buffer, and implausible bodies kept away from the model."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the examiner needs torch")
pytest.importorskip("smplx", reason="the examiner's body model needs smplx")

from posebench.examiner.backgrounds import background_bank, photo_crops, textures  # noqa: E402
from posebench.examiner.env import Evaluator  # noqa: E402
from posebench.examiner.params import default_space  # noqa: E402
from posebench.examiner.scene import Scene, balanced  # noqa: E402
from posebench.samples import sample_path  # noqa: E402

SPACE = default_space(("pose", "occluder"))


@pytest.fixture(scope="module")
def scene() -> Scene:
    return Scene("mannequin", image_size=(64, 64))


def _x(**values: float) -> np.ndarray:
    x = SPACE.default()[None].copy()
    for name, v in values.items():
        j = SPACE.index(name.replace("__", "."))
        x[0, j] = SPACE.dims[j].to_unit(v)
    return x


def test_balance_standing_vs_sitting_on_air(scene: Scene) -> None:
    stand = SPACE.decode(_x())
    # sitting on air: both thighs forward, shins hanging down (the feet carry a body whose
    # centre is behind them)
    sit = SPACE.decode(_x(left_hip__x=-1.5, right_hip__x=-1.5, left_knee__x=1.57,
                          right_knee__x=1.57))  # fmt: skip
    one_leg = SPACE.decode(_x(left_hip__x=-1.5))  # one thigh forward: still over the other foot
    out = [scene.body.forward(p.global_orient, p.body_pose) for p in (stand, sit, one_leg)]
    ok = [bool(balanced(o.vertices)[0]) for o in out]
    assert ok == [True, False, True]


def test_implausible_bodies_are_not_shown_to_the_model(scene: Scene) -> None:
    from posebench.adapters import load_adapter

    x = np.concatenate([_x(), _x(left_hip__x=-1.5, right_hip__x=-1.5, left_knee__x=1.57,
                                 right_knee__x=1.57)])  # fmt: skip
    ev = Evaluator(load_adapter("oracle", {}), scene, SPACE, reject_implausible=True, budget=5)
    res = ev.evaluate(x)
    assert res.plausible.tolist() == [True, False]
    assert res.errors[0] == pytest.approx(0.0, abs=1e-9)
    assert np.isnan(res.errors[1])
    assert (ev.queries, ev.rejected, ev.proposed) == (1, 1, 2)


def test_occluder_is_a_box_in_the_z_buffer(scene: Scene) -> None:
    r = scene.render(SPACE.decode(np.concatenate([
        _x(), _x(occluder__x=0.5, occluder__y=0.45, occluder__width=0.45, occluder__height=0.3),
        _x(occluder__x=0.5, occluder__y=0.45, occluder__width=0.0, occluder__height=0.3),
    ])))  # fmt: skip
    vis = r.visibility.numpy()
    assert (vis[0] == 2).all()
    assert (vis[1] == 1).sum() >= 4  # the torso's keypoints are behind the box
    assert float(r.occluded[1]) > 0.2
    assert float(r.occluded[0]) == 0.0
    # zero width draws nothing: the same image and ground truth as no occluder
    assert torch.equal(r.images[0], r.images[2])
    assert (vis[2] == vis[0]).all()
    # the box does not change the person's box (the body's silhouette, not the occluder's)
    assert r.boxes[1, 3] == pytest.approx(float(r.boxes[0, 3]), abs=2)


def test_background_bank_photos_hold_no_person_and_textures() -> None:
    crops = photo_crops((48, 48))
    tex = textures((48, 48))
    bank = background_bank((48, 48))
    assert len(tex) == 5
    assert bank.shape == (len(crops) + 5, 48, 48, 3)
    assert len(crops) >= 20
    assert all(float(c.std()) > 3 for c in crops)  # photos, not flat fills
    # at most two crops per photo of the sample
    ann = json.loads(sample_path("coco-val2017-sample").read_text())
    assert len(crops) <= 2 * len(ann["images"])


def test_photo_backgrounds_in_the_scene() -> None:
    sc = Scene("mannequin", image_size=(48, 48), backgrounds="photos")
    space = default_space(("background",))
    x = np.array([[-1.0], [1.0]])
    r = sc.render(space.decode(x))
    bank = background_bank((48, 48))
    # a corner pixel away from the body shows the first and the last background of the bank
    assert np.abs(r.images[0, 0, 0].numpy().astype(int) - bank[0, 0, 0]).max() <= 1
    assert np.abs(r.images[1, 0, 0].numpy().astype(int) - bank[-1, 0, 0]).max() <= 1


def test_self_intersection_of_limbs(scene: Scene) -> None:
    from posebench.examiner.scene import self_intersecting

    # a standing person; the right wrist moved onto the torso's axis; the knees together
    kp = torch.zeros(3, 17, 3)
    pts = {
        5: (0.2, 1.45, 0), 6: (-0.2, 1.45, 0), 7: (0.25, 1.2, 0), 8: (-0.25, 1.2, 0),
        9: (0.27, 0.95, 0), 10: (-0.27, 0.95, 0), 11: (0.1, 0.95, 0), 12: (-0.1, 0.95, 0),
        13: (0.1, 0.5, 0), 14: (-0.1, 0.5, 0), 15: (0.1, 0.05, 0), 16: (-0.1, 0.05, 0),
    }  # fmt: skip
    for j, p in pts.items():
        kp[:, j] = torch.tensor(p)
    kp[1, 10] = torch.tensor([0.01, 1.2, 0.02])  # the right hand inside the chest
    kp[2, 13] = torch.tensor([0.01, 0.5, 0.0])  # the left knee through the right one
    kp[2, 14] = torch.tensor([-0.01, 0.5, 0.0])
    assert self_intersecting(kp).tolist() == [False, True, True]
    # the rendered default pose is plausible
    r = scene.render(SPACE.decode(_x()))
    assert bool(r.plausible[0])
