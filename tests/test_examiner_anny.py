"""The anny body: SMPL-frame pose dimensions mean the same limb directions on anny as on the
SMPL-format mannequin, phenotypes change the body, COCO keypoints from anny's own regressor sit
where a person's are, and the rendered scene has a face, clothes and a photo background."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the examiner needs torch")
pytest.importorskip("smplx", reason="the examiner's body model needs smplx")

from posebench.examiner.params import default_space  # noqa: E402
from posebench.examiner.scene import Scene, balanced  # noqa: E402
from posebench.skeletons import COCO17  # noqa: E402
from tests.conftest import reference  # noqa: E402

reference("anny", "pip install 'anny==0.6.2'  (the [examiner] extra)")

from posebench.examiner.anny_body import AnnyBody  # noqa: E402

KP = {n: i for i, n in enumerate(COCO17.keypoints)}


@pytest.fixture(scope="module")
def anny_scene() -> Scene:
    return Scene(AnnyBody(), image_size=(128, 128), backgrounds="photos")


@pytest.fixture(scope="module")
def smpl_scene() -> Scene:
    return Scene("mannequin", image_size=(128, 128))


def _joints(scene: Scene, x: Any) -> np.ndarray:
    space = default_space(("pose",), body=scene.kind)
    p = space.decode(x)
    with torch.no_grad():
        out = scene.body.forward(p.global_orient, p.body_pose, p.betas[:, : scene.num_betas])
    return np.asarray(scene._keypoints3d(out.joints).double().numpy())


def test_rest_keypoints_are_a_standing_person_facing_plus_z(anny_scene: Scene) -> None:
    body = anny_scene.body
    out = body.forward(torch.zeros(1, 3), torch.zeros(1, 69))
    kp = body.keypoints(out.joints, "coco17")[0].double().numpy()
    v = out.vertices[0].double().numpy()
    assert v[:, 1].min() == pytest.approx(0.0, abs=1e-6)  # standing on the ground y = 0
    assert 1.5 < v[:, 1].max() < 1.8  # the default phenotype is 1.63 m tall
    # the body's left on +x, the face forward (+z), head above shoulders above hips above feet
    assert kp[KP["left_shoulder"], 0] > 0.1 > -0.1 > kp[KP["right_shoulder"], 0]
    assert kp[KP["nose"], 2] > kp[KP["left_shoulder"], 2] + 0.05
    assert kp[KP["nose"], 1] > kp[KP["left_shoulder"], 1] > kp[KP["left_hip"], 1]
    assert kp[KP["left_hip"], 1] > kp[KP["left_knee"], 1] > kp[KP["left_ankle"], 1]
    assert bool(balanced(out.vertices)[0])


def test_pose_dimensions_move_limbs_as_on_the_smpl_mannequin(
    anny_scene: Scene, smpl_scene: Scene
) -> None:
    # Random poses within the joint limits: each limb's direction agrees between the bodies
    # (cosine), because both read the same SMPL-frame Euler angles.
    x = np.random.default_rng(3).uniform(-1, 1, (24, default_space(("pose",)).size))
    a = _joints(anny_scene, x)
    s = _joints(smpl_scene, x)
    limbs = [("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"),
             ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"),
             ("left_hip", "left_knee"), ("right_hip", "right_knee"),
             ("left_knee", "left_ankle"), ("right_knee", "right_ankle")]  # fmt: skip
    cos = []
    for p, c in limbs:
        da = a[:, KP[c]] - a[:, KP[p]]
        ds = s[:, KP[c]] - s[:, KP[p]]
        cos.append((da * ds).sum(1) / np.linalg.norm(da, axis=1) / np.linalg.norm(ds, axis=1))
    cos_a = np.array(cos)
    assert np.median(cos_a) > 0.95
    assert (cos_a > 0.75).mean() > 0.95


def test_raising_the_left_arm_lifts_the_left_wrist_above_the_head(anny_scene: Scene) -> None:
    space = default_space(("pose",), body="anny")
    x = np.repeat(space.default()[None], 2, 0)
    x[1, space.index("left_shoulder.z")] = space.dims[space.index("left_shoulder.z")].to_unit(1.2)
    j = _joints(anny_scene, x)
    assert j[0, KP["left_wrist"], 1] < j[0, KP["left_hip"], 1] + 0.2  # arms down by default
    assert j[1, KP["left_wrist"], 1] > j[1, KP["nose"], 1]  # raised above the head
    assert j[1, KP["right_wrist"], 1] == pytest.approx(j[0, KP["right_wrist"], 1], abs=1e-4)


def test_phenotypes_change_height_and_appearance_changes_colours(anny_scene: Scene) -> None:
    body = anny_scene.body
    ph = torch.full((2, 6), 0.5)
    ph[0, 4], ph[1, 4] = 0.3, 0.8  # height
    out = body.forward(torch.zeros(2, 3), torch.zeros(2, 69), ph)
    tall = out.vertices[..., 1].amax(1)
    assert float(tall[1] - tall[0]) > 0.2
    app = torch.full((2, 9), 0.5)
    app[1, 0] = 1.0  # darkest skin tone
    col = body.colors(app)
    face = body._r["iris"].logical_not() & ~body._r["hair"] & ~body._r["shirt"]
    assert float(col[0][face].mean()) > float(col[1][face].mean()) + 0.2


def test_rendered_person_front_and_back(anny_scene: Scene) -> None:
    space = default_space(("camera",), body="anny")
    x = np.repeat(space.default()[None], 2, 0)
    x[1, space.index("camera.azimuth")] = 1.0  # 180 degrees: from behind
    r = anny_scene.render(space.decode(x))
    vis = r.visibility.numpy()
    assert (vis[0] == 2).all()  # every keypoint visible from the front
    assert vis[1, KP["nose"]] == 1  # hidden by the head from behind
    kp = r.keypoints.numpy()
    # from the front the body's left is on the image's right; from behind on the left
    assert kp[0, KP["left_shoulder"], 0] > kp[0, KP["right_shoulder"], 0]
    assert kp[1, KP["left_shoulder"], 0] < kp[1, KP["right_shoulder"], 0]
    assert 1500 < float(r.areas[0]) < 6000  # a person about 0.8 of a 128-pixel image tall
    img = r.images[0].numpy().astype(float)
    # the background is a photo (not flat), the person has several colours (skin, clothes)
    assert img[:10].std() > 5
    m = kp[0, KP["nose"]].round().astype(int)
    assert np.abs(img[m[1], m[0]] - img[int(kp[0, KP["left_hip"], 1]), m[0]]).sum() > 30


def test_anny_refuses_smpl24(anny_scene: Scene) -> None:
    from posebench.errors import InputError

    with pytest.raises(InputError, match="coco17"):
        Scene(anny_scene.body, image_size=(64, 64), skeleton="smpl24")
