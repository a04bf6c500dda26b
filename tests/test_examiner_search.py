"""PoseExaminer search: planted weaknesses are found (and only they), a robust oracle yields no
failure, the policy gradient climbs where random sampling does not, budgets and seeds hold, and
mediapipe completes a small search on the shipped body."""

from __future__ import annotations

import importlib
import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

torch = pytest.importorskip("torch", reason="the examiner needs torch")
pytest.importorskip("smplx", reason="the examiner's body model needs smplx")
pytest.importorskip("gymnasium", reason="the examiner's environment needs gymnasium")

from posebench.examiner.env import Evaluation, Evaluator  # noqa: E402
from posebench.examiner.params import SearchSpace, default_space  # noqa: E402
from posebench.examiner.scene import Scene  # noqa: E402
from posebench.examiner.search import SearchConfig, auto_threshold, search  # noqa: E402
from tests.conftest import reference  # noqa: E402
from tests.fake_examiner_adapters import (  # noqa: E402
    BackViewBlind,
    RaisedRightArmBlind,
    right_wrist_above_head,
    seen_from_behind,
)

OracleAdapter = importlib.import_module("posebench.adapters.oracle").OracleAdapter

# A small space (7 dimensions, to keep the CPU test short): the right arm, the camera's
# azimuth and elevation, and the left arm's raise as a distractor.
SPACE = default_space(
    ("camera",),
    include=("right_shoulder", "right_elbow", "left_shoulder.z"),
    exclude=("camera.distance",),
)
CFG = SearchConfig(agents=4, rollouts=8, max_iters=20, seed=0, max_rounds=8, verify_samples=16)


@pytest.fixture(scope="module")
def scene() -> Scene:
    return Scene("mannequin", image_size=(64, 64))


def _predicate_rate(scene: Scene, x: npt.NDArray[np.float64], which: str) -> npt.NDArray[Any]:
    r = scene.render(SPACE.decode(x))
    if which == "arm":
        return right_wrist_above_head(r.keypoints.double().numpy())
    return seen_from_behind(r.visibility.numpy())


@pytest.mark.parametrize(
    ("adapter", "which"), [(RaisedRightArmBlind, "arm"), (BackViewBlind, "back")]
)
def test_planted_weakness_is_found_and_nothing_else(scene: Scene, adapter: Any, which: str) -> None:
    ev = Evaluator(adapter(), scene, SPACE, batch_size=64, budget=600)
    res = search(ev, CFG)
    assert res.queries <= 600
    assert res.success_rate >= 0.5
    assert len(res.failure_modes) == round(res.success_rate * CFG.agents)
    rng = np.random.default_rng(5)
    for m in res.failure_modes:
        assert m.error >= CFG.threshold
        # The failure point really has the planted condition (decided from the rendered ground
        # truth, independently of the adapter).
        assert _predicate_rate(scene, m.point[None], which)[0]
        # The region holds the point, lies in the space, and mostly keeps the condition.
        assert (m.lower <= m.point).all()
        assert (m.point <= m.upper).all()
        assert (m.lower >= -1).all()
        assert (m.upper <= 1).all()
        inside = m.lower + rng.uniform(size=(32, SPACE.size)) * (m.upper - m.lower)
        assert _predicate_rate(scene, inside, which).mean() >= 0.7
        assert m.region_failure_rate >= 0.7
        assert m.norm_gap == pytest.approx(float(np.linalg.norm(m.width)))
        assert m.norm_gap > 0  # the region grew
        assert set(m.params) == set(SPACE.names)
        assert set(m.region) == set(SPACE.names)
    assert res.region_size == pytest.approx(np.mean([m.norm_gap for m in res.failure_modes]))
    assert res.region_size > 0.05
    # Every failing sample of the whole run has the planted condition: no false failures.
    h = res.history
    failing = h["x"][h["error"] >= CFG.threshold]
    assert len(failing) > 0
    assert _predicate_rate(scene, failing[:128], which).all()
    assert len(h["error"]) == res.queries


def test_robust_oracle_yields_no_failure(scene: Scene) -> None:
    ev = Evaluator(OracleAdapter(), scene, SPACE, batch_size=64, budget=300)
    res = search(ev, CFG)
    assert res.success_rate == 0.0
    assert res.failure_modes == []
    assert math.isnan(res.region_size)
    assert 0 < res.queries <= 300
    assert np.nanmax(res.history["error"]) < 1e-9


def test_same_seed_same_run_other_seed_other_run(scene: Scene) -> None:
    runs = []
    for seed in (3, 3, 4):
        ev = Evaluator(RaisedRightArmBlind(), scene, SPACE, batch_size=64, budget=200)
        runs.append(search(ev, SearchConfig(agents=3, rollouts=6, max_iters=10, seed=seed,
                                            max_rounds=2, verify_samples=4)))  # fmt: skip
    a, b, c = runs
    np.testing.assert_array_equal(a.history["x"], b.history["x"])
    np.testing.assert_array_equal(a.history["error"], b.history["error"])
    assert [m.point.tolist() for m in a.failure_modes] == [
        m.point.tolist() for m in b.failure_modes
    ]
    assert not np.array_equal(a.history["x"][:10], c.history["x"][:10])


class _Bump:
    """A stand-in evaluator (no rendering): error exp(-|x - t|^2 / (2 * 0.3^2)), so the failure
    threshold 0.95 is reached only within ~0.1 of t: random sampling practically never hits it."""

    metric = "oks"

    def __init__(self, target: npt.NDArray[np.float64], budget: int | None = None) -> None:
        self.space: SearchSpace = default_space(("camera",), include=("right_shoulder",))
        self.target, self.budget, self.queries = target, budget, 0

    @property
    def remaining(self) -> int | None:
        return None if self.budget is None else self.budget - self.queries

    def evaluate(self, x: npt.ArrayLike) -> Evaluation:
        xa = np.asarray(x)
        self.queries += len(xa)
        e = np.exp(-((xa - self.target) ** 2).sum(1) / (2 * 0.3**2))
        z = np.zeros((len(xa), 17, 2))
        return Evaluation(e, z, z, np.zeros((len(xa), 17)), np.zeros((len(xa), 4)))


def test_policy_gradient_climbs_to_a_narrow_failure() -> None:
    t = np.array([0.7, -0.6, 0.8, -0.7, 0.6, -0.5])
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (4000, 6))
    assert (np.exp(-((x - t) ** 2).sum(1) / 0.18) >= 0.95).sum() == 0  # random search fails
    bump = _Bump(t)
    cfg = SearchConfig(agents=4, rollouts=8, max_iters=150, threshold=0.95, seed=0, max_rounds=3)
    res = search(bump, cfg)  # type: ignore[arg-type]
    assert res.success_rate == 1.0
    for m in res.failure_modes:
        assert m.iterations > 5  # found by climbing, not by the first draw
        assert np.abs(m.point - t).max() < 0.2


def test_budget_is_never_exceeded() -> None:
    t = np.array([0.7, -0.6, 0.8, -0.7, 0.6, -0.5])
    for budget in (7, 50, 333):
        bump = _Bump(t, budget)
        res = search(bump, SearchConfig(agents=5, rollouts=8, threshold=0.5, seed=1))  # type: ignore[arg-type]
        assert bump.queries <= budget
        assert res.queries == bump.queries


def test_auto_threshold() -> None:
    assert auto_threshold([0.1, 0.2, 0.3], "oks") == pytest.approx(0.6)
    assert auto_threshold([0.0, 0.0], "oks") == 0.5
    assert auto_threshold([0.9, 0.95], "oks") == 0.95
    assert auto_threshold([40.0, 60.0], "mpjpe") == pytest.approx(140.0)
    assert auto_threshold([math.nan], "normalized") == 0.2


def test_mediapipe_completes_a_small_search_on_the_shipped_body() -> None:
    reference(
        "mediapipe", "pip install mediapipe==0.10.21 --no-deps && pip install -e '.[mediapipe]'"
    )
    registry = importlib.import_module("posebench.adapters")
    adapter = registry.load_adapter("mediapipe", {})
    scene = Scene("mannequin", image_size=(128, 128))
    space = default_space(("pose", "camera"))
    ev = Evaluator(adapter, scene, space, batch_size=32, budget=100)
    res = search(ev, SearchConfig(agents=4, rollouts=4, max_iters=10, seed=0, verify_samples=8))
    adapter.close()
    assert 0 < res.queries <= 100
    assert ev.metric == "oks"
    errs = res.history["error"]
    assert len(errs) == res.queries
    assert np.isfinite(errs).all()
    assert ((errs >= 0) & (errs <= 1)).all()
    assert 0.0 <= res.success_rate <= 1.0
    assert len(res.failure_modes) == round(res.success_rate * 4)
    for m in res.failure_modes:
        assert m.error >= 0.5
        assert m.prediction.shape == (17, 2)
        assert 0.0 <= m.region_failure_rate <= 1.0
    js = res.to_json()
    assert js["queries"] == res.queries
    assert {"success_rate", "region_size", "failure_modes", "seed"} <= set(js)
