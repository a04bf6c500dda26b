"""Examiner search space, scene, errors, the batch evaluator and the gymnasium environment."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the examiner needs torch")
pytest.importorskip("smplx", reason="the examiner's body model needs smplx")
gym = pytest.importorskip("gymnasium", reason="the examiner's environment needs gymnasium")

from posebench.errors import InputError  # noqa: E402
from posebench.examiner.env import BudgetExhausted, Evaluator, ExaminerEnv  # noqa: E402
from posebench.examiner.error import (  # noqa: E402
    mpjpe_error,
    normalized_error,
    oks_error,
    select_predictions,
)
from posebench.examiner.params import (  # noqa: E402
    JOINT_LIMITS,
    default_space,
    euler_to_axis_angle,
)
from posebench.examiner.scene import Scene  # noqa: E402
from posebench.poseset import PoseSet  # noqa: E402
from posebench.skeletons import COCO17  # noqa: E402
from tests.fake_examiner_adapters import right_wrist_above_head, seen_from_behind  # noqa: E402

OracleAdapter = importlib.import_module("posebench.adapters.oracle").OracleAdapter
SIZE = (64, 64)


@pytest.fixture(scope="module")
def scene() -> Scene:
    return Scene("mannequin", image_size=SIZE)


def _point(space: Any, **values: float) -> np.ndarray:
    x = space.default()
    for name, v in values.items():
        x[space.index(name.replace("__", "."))] = space.dims[
            space.index(name.replace("__", "."))
        ].to_unit(v)
    return x


# --- search space ----------------------------------------------------------------------------


def test_euler_angles_match_scipy() -> None:
    rot = pytest.importorskip("scipy.spatial.transform").Rotation
    rng = np.random.default_rng(0)
    e = rng.uniform(-2.5, 2.5, (200, 3))
    got = euler_to_axis_angle(torch.tensor(e, dtype=torch.float64)).numpy()
    want = rot.from_euler("XYZ", e).as_matrix()  # intrinsic x-y-z
    np.testing.assert_allclose(rot.from_rotvec(got).as_matrix(), want, atol=1e-9)
    assert (np.linalg.norm(got, axis=1) <= np.pi + 1e-9).all()
    np.testing.assert_allclose(euler_to_axis_angle(torch.zeros(1, 3)).numpy(), 0.0)


def test_space_bounds_defaults_and_round_trip() -> None:
    space = default_space()
    assert len(set(space.names)) == space.size
    assert {d.group for d in space.dims} == {
        "pose",
        "shape",
        "camera",
        "occluder",
        "light",
        "background",
    }
    # every pose dimension comes from the joint-limit table, within it
    for d in space.dims:
        if d.group == "pose":
            joint, axis = d.name.split(".")
            assert (d.lo, d.hi) == JOINT_LIMITS[joint]["xyz".index(axis)]
            assert d.lo <= d.default <= d.hi
    np.testing.assert_allclose(space.to_physical(-np.ones(space.size)), space.lows())
    np.testing.assert_allclose(space.to_physical(np.ones(space.size)), space.highs())
    x = np.random.default_rng(1).uniform(-1, 1, (5, space.size))
    np.testing.assert_allclose(space.to_unit(space.to_physical(x)), x, atol=1e-12)
    named = space.named(space.default())
    assert named["camera.azimuth"] == pytest.approx(0.0)
    assert named["occluder.width"] == pytest.approx(0.0)
    p = space.decode(x)
    assert p.body_pose.shape == (5, 69)
    assert p.betas.shape == (5, 4)
    assert p.light_dir.shape == (5, 3)
    # joints outside the table stay at rest (e.g. the wrists, 20 and 21)
    assert torch.all(p.body_pose.view(5, 23, 3)[:, 19:21] == 0)


def test_subspace_keeps_other_dimensions_at_their_defaults() -> None:
    small = default_space(("camera",), include=("right_shoulder",), exclude=("camera.distance",))
    assert small.names == (
        "right_shoulder.x", "right_shoulder.y", "right_shoulder.z",
        "camera.azimuth", "camera.elevation",
    )  # fmt: skip
    p = small.decode(np.ones((2, small.size)))
    assert torch.allclose(p.distance, torch.tensor(3.0))
    assert torch.allclose(p.azimuth, torch.tensor(180.0))
    full = default_space()
    q = full.decode(full.default()[None])
    # the left arm is lowered in both (default pose), only the right shoulder differs
    left = slice(15 * 3, 16 * 3)
    torch.testing.assert_close(p.body_pose[0, left], q.body_pose[0, left])


def test_bad_spaces_are_refused() -> None:
    with pytest.raises(InputError, match="unknown group"):
        default_space(("poses",))
    with pytest.raises(InputError, match="unknown dimension"):
        default_space(("camera",), include=("right_shoulderz",))
    with pytest.raises(InputError, match="no dimension"):
        default_space((), include=())
    with pytest.raises(InputError, match="NaN"):
        default_space().decode(np.full((1, default_space().size), np.nan))


# --- scene -----------------------------------------------------------------------------------


def test_scene_renders_images_and_ground_truth(scene: Scene) -> None:
    space = default_space()
    x = np.random.default_rng(0).uniform(-1, 1, (6, space.size))
    x[0] = space.default()
    r = scene.render(space.decode(x))
    assert r.images.shape == (6, *SIZE, 3)
    assert r.images.dtype == torch.uint8
    assert r.keypoints.shape == (6, 17, 2)
    assert r.visibility.shape == (6, 17)
    assert r.joints_cam.shape == (6, 17, 3)
    # default view: the whole body in the frame, every keypoint visible, inside the silhouette box
    assert (r.visibility[0] == 2).all()
    x0, y0, w, h = r.boxes[0].tolist()
    kp = r.keypoints[0]
    assert (kp[:, 0] >= x0 - 1).all()
    assert (kp[:, 0] <= x0 + w + 1).all()
    assert (kp[:, 1] >= y0 - 1).all()
    assert (kp[:, 1] <= y0 + h + 1).all()
    assert h > 2 * w * 0.8  # a standing person
    assert r.areas[0] > 100
    # the body sits about 3 m away (camera-space depth in millimetres)
    assert 2500 < float(r.joints_cam[0, :, 2].mean()) < 3500


def test_pose_and_camera_dimensions_do_what_they_say(scene: Scene) -> None:
    space = default_space()
    pts = np.stack(
        [
            space.default(),
            _point(space, right_shoulder__z=-1.4),  # right arm raised
            _point(space, camera__azimuth=180.0),  # seen from behind
            _point(space, occluder__width=0.45, occluder__height=0.45),  # centre covered
            _point(space, light__exposure=0.2),  # dark
        ]
    )
    r = scene.render(space.decode(pts))
    kp = r.keypoints.double().numpy()
    vis = r.visibility.numpy()
    assert right_wrist_above_head(kp).tolist() == [False, True, False, False, False]
    assert seen_from_behind(vis).tolist() == [False, False, True, False, False]
    ls, rs = COCO17.index("left_shoulder"), COCO17.index("right_shoulder")
    assert kp[0, ls, 0] > kp[0, rs, 0]  # from the front the body's left is on the image right
    assert kp[2, ls, 0] < kp[2, rs, 0]
    assert (vis[3] == 1).sum() >= 2  # keypoints behind the occluder are hidden
    body = r.images[0].float().mean(-1) < 250
    assert r.images[4][body].float().mean() < 0.5 * r.images[0][body].float().mean()


# --- errors ----------------------------------------------------------------------------------


def test_error_functions() -> None:
    rng = np.random.default_rng(0)
    gt = rng.uniform(0, 100, (4, 17, 2))
    vis = np.full((4, 17), 2.0)
    vis[1, :5] = 0
    area = np.full(4, 3000.0)
    sig = COCO17.oks_sigmas()
    pred = gt.copy()
    pred[2] += 40.0
    pred[3] = np.nan  # nobody found
    e = oks_error(pred, gt, vis, area, sig)
    assert e[0] == pytest.approx(0.0)
    assert e[1] == pytest.approx(0.0)
    assert 0.9 < e[2] <= 1.0
    assert e[3] == 1.0
    boxes = np.tile([0.0, 0.0, 30.0, 40.0], (4, 1))
    n = normalized_error(pred, gt, vis, boxes)
    assert n[0] == 0.0
    assert n[2] == pytest.approx(min(np.hypot(40, 40) / 50.0, 1.0))
    assert n[3] == 1.0
    g3 = rng.normal(0, 300, (3, 17, 3))
    p3 = g3 + np.array([100.0, 0, 0])  # a shifted pose: zero root-aligned error
    np.testing.assert_allclose(mpjpe_error(p3, g3, (11, 12)), 0.0, atol=1e-9)
    p3[0, 0] += [0.0, 170.0, 0.0]
    assert mpjpe_error(p3, g3, (11, 12))[0] == pytest.approx(10.0)


def test_select_predictions_pairs_the_best_pose_per_image() -> None:
    gt = np.random.default_rng(1).uniform(0, 100, (2, 17, 2))
    vis = np.full((2, 17), 2.0)
    far = gt[0] + 50
    pred = PoseSet(
        image_id=np.array([7, 7, 9]),
        keypoints=np.stack([far, gt[0], gt[1] + 1]),
        score=np.array([0.9, 0.1, 0.5]),
    )
    out = select_predictions(pred, np.array([7, 9, 11]), np.concatenate([gt, gt[:1]]),
                             np.concatenate([vis, vis[:1]]), np.full(3, 2000.0),
                             COCO17.oks_sigmas())  # fmt: skip
    np.testing.assert_array_equal(out[0], gt[0])
    np.testing.assert_array_equal(out[1], gt[1] + 1)
    assert np.isnan(out[2]).all()


# --- evaluator and environment -----------------------------------------------------------------


def test_evaluator_with_the_oracle_scores_zero_and_counts_queries(scene: Scene) -> None:
    space = default_space()
    ev = Evaluator(OracleAdapter(), scene, space, batch_size=4, budget=10)
    x = np.random.default_rng(0).uniform(-1, 1, (7, space.size))
    res = ev.evaluate(x)
    assert res.errors.shape == (7,)
    assert np.nanmax(res.errors) < 1e-9
    assert ev.queries == 7
    assert ev.remaining == 3
    with pytest.raises(BudgetExhausted):
        ev.evaluate(x)
    assert ev.queries == 7
    # top-down: one GT box per image reaches the adapter; still exact
    top = Evaluator(OracleAdapter(top_down=True), scene, space, batch_size=8)
    assert np.nanmax(top.evaluate(x[:3]).errors) < 1e-9


def test_evaluator_checks_its_inputs(scene: Scene) -> None:
    space = default_space(("camera",))
    with pytest.raises(InputError, match="metric"):
        Evaluator(OracleAdapter(), scene, space, metric="mpjpe")
    with pytest.raises(InputError, match=r"skeleton|keypoints"):
        Evaluator(OracleAdapter(skeleton="mpii16"), scene, space)
    ev = Evaluator(OracleAdapter(), scene, space)
    with pytest.raises(InputError, match="expected"):
        ev.evaluate(np.zeros((2, space.size + 1)))


@pytest.mark.filterwarnings("ignore:.*alternative render modes")
def test_env_passes_the_gymnasium_checker(scene: Scene) -> None:
    from gymnasium.utils.env_checker import check_env

    space = default_space(("camera",), include=("right_shoulder",))
    env = ExaminerEnv(Evaluator(OracleAdapter(), scene, space), render_mode="rgb_array")
    check_env(env, skip_render_check=False)


def test_env_step_rewards_the_error_and_moves_by_deltas(scene: Scene) -> None:
    from tests.fake_examiner_adapters import RaisedRightArmBlind

    space = default_space(("camera",), include=("right_shoulder",))
    ev = Evaluator(RaisedRightArmBlind(), scene, space)
    env = ExaminerEnv(ev, mode="delta", delta_scale=0.5, threshold=0.5, samples_per_step=3)
    obs, _ = env.reset(seed=0)
    np.testing.assert_allclose(obs, space.default(), atol=1e-6)
    act = np.zeros(space.size, np.float32)
    obs2, reward, terminated, truncated, info = env.step(act)
    assert float(reward) < 0.5
    assert not terminated
    assert not truncated
    assert info["errors"].shape == (3,)
    assert ev.queries == 3
    act[space.index("right_shoulder.z")] = -1.0  # raise the right arm, step by step
    for _ in range(4):
        obs2, reward, terminated, _, info = env.step(act)
        if terminated:
            break
    assert obs2[space.index("right_shoulder.z")] < obs[space.index("right_shoulder.z")] - 0.9
    assert terminated
    assert float(reward) >= 0.5
    assert info["failure"]
    img = ExaminerEnv(ev, render_mode="rgb_array")
    img.reset(options={"params": obs2})
    frame = img.render()
    assert frame is not None
    assert frame.shape == (*SIZE, 3)
    assert frame.dtype == np.uint8
