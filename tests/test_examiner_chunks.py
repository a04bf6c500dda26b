"""The examiner's evaluator scores fixed chunks, each a pure function of (its points, the index
of its first point), so that another executor (Ray) gives the local results; and the executor
flags of ``posebench examine`` without Ray."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="the examiner needs torch")
pytest.importorskip("smplx", reason="the examiner's body model needs smplx")
pytest.importorskip("gymnasium", reason="the examiner's environment needs gymnasium")

from posebench.cli.main import main
from posebench.examiner.env import Evaluation, Evaluator, chunk_batch
from posebench.examiner.params import default_space
from posebench.examiner.scene import Scene

JitterAdapter = importlib.import_module("posebench.adapters.oracle").JitterAdapter


@pytest.fixture(scope="module")
def scene() -> Scene:
    return Scene("mannequin", image_size=(64, 64))


def _evaluator(scene: Scene) -> Evaluator:
    space = default_space(["pose", "camera"], num_betas=min(4, scene.num_betas), body=scene.kind)
    return Evaluator(JitterAdapter(noise=0.2, seed=5), scene, space, batch_size=4,
                     reject_implausible=True)  # fmt: skip


def _assert_same(a: Evaluation, b: Evaluation) -> None:
    for f in ("errors", "predictions", "keypoints", "visibility", "boxes", "plausible"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)


def test_chunk_batch_depends_on_the_batch_size_and_start_only() -> None:
    x = np.arange(20.0).reshape(10, 2)
    chunks = chunk_batch(x, 4, 7)
    assert [(c.index, c.start, len(c.x)) for c in chunks] == [(0, 7, 4), (1, 11, 4), (2, 15, 2)]
    np.testing.assert_array_equal(np.concatenate([c.x for c in chunks]), x)
    assert chunk_batch(x[:0], 4, 0) == []


def test_a_chunk_does_not_depend_on_what_ran_before_it(scene: Scene) -> None:
    """Two evaluators first score different batches (different bodies rejected as implausible),
    then the same batch: identical results. Jitter seeds its noise by image id, so ids counted
    over earlier queries (as before) would change every error here."""
    rng = np.random.default_rng(0)
    a, b = _evaluator(scene), _evaluator(scene)
    d = a.space.size
    first_a, first_b = rng.uniform(-1, 1, (12, d)), rng.uniform(-1, 1, (12, d))
    a.evaluate(first_a)
    b.evaluate(first_b)
    assert a.rejected != b.rejected  # the queries before differ
    x = np.clip(a.space.default() + rng.normal(0, 0.3, (10, d)), -1, 1)  # mostly plausible
    ra, rb = a.evaluate(x), b.evaluate(x)
    _assert_same(ra, rb)
    assert np.isfinite(ra.errors).sum() >= 5
    # and each chunk of it equals that chunk scored alone by a fresh evaluator
    fresh = _evaluator(scene)
    parts = [fresh.score_chunk(c.x, c.start) for c in chunk_batch(x, 4, 12)]
    assert fresh.queries == fresh.proposed == fresh.rejected == 0  # scoring counts nothing
    np.testing.assert_array_equal(np.concatenate([p.evaluation.errors for p in parts]), ra.errors)
    assert [p.queries + p.rejected for p in parts] == [4, 4, 2]
    assert sum(p.rejected for p in parts) == int((~ra.plausible).sum())
    assert a.proposed == 22


def test_evaluate_scores_fixed_chunks_and_counts_them(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    ev = _evaluator(scene)
    calls: list[tuple[int, int]] = []
    score = ev.score_chunk

    def spy(x: np.ndarray, start: int) -> object:
        calls.append((len(x), start))
        return score(x, start)

    monkeypatch.setattr(ev, "score_chunk", spy)
    rng = np.random.default_rng(1)
    r1 = ev.evaluate(rng.uniform(-1, 1, (10, ev.space.size)))
    r2 = ev.evaluate(rng.uniform(-1, 1, (3, ev.space.size)))
    assert calls == [(4, 0), (4, 4), (2, 8), (3, 10)]
    assert ev.proposed == 13
    implausible = int((~r1.plausible).sum() + (~r2.plausible).sum())
    assert ev.rejected == implausible
    assert ev.queries == 13 - implausible


def test_examine_executor_ray_without_ray_gives_the_install_hint(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    argv = ["examine", "--adapter", "oracle", "--body", "mannequin", "--budget", "10",
            "--size", "64", "--output", str(tmp_path / "o"), "--executor", "ray"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "pip install 'posebench[ray]'" in err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()
    # the defaults (8 agents x 8 rollouts, --batch-size 64) make a round one chunk: said first
    assert "one chunk of --batch-size 64 bodies" in caplog.text
    assert "--batch-size 8 (one chunk per agent's rollouts)" in caplog.text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--workers", "2"], "need --executor ray"),
        (["--gpus-per-worker", "1"], "need --executor ray"),
        (["--executor", "ray", "--workers", "0"], "--workers: expected an integer from 1"),
        (["--executor", "ray", "--device", "cuda"], "--device cuda on Ray needs --gpus-per-worker"),
        (["--torch-threads", "0"], "--torch-threads: expected an integer from 1"),
    ],
)
def test_examine_executor_flags_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    argv = ["examine", "--adapter", "oracle", "--body", "mannequin", "--budget", "10",
            "--size", "64", "--output", str(tmp_path / "o"), *extra]  # fmt: skip
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own usage errors
        code = int(e.code or 0)
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_workers_build_their_evaluator_on_the_drivers_thread_count() -> None:
    """The thread count can change the last float bit of a rendered keypoint, so an actor's
    evaluator runs on the count the driver gives it (ExaminerSpec.torch_threads)."""
    import torch

    from posebench.examiner.ray_eval import ExaminerSpec, build_evaluator

    space = default_space(["camera"], num_betas=4, body="smpl")
    spec = ExaminerSpec(adapter="jitter", adapter_args={"noise": "0.1"}, body="mannequin",
                        image_size=64, device="cpu", renderer="torch", backgrounds="plain",
                        space=space, metric="oks", batch_size=4, reject_implausible=True,
                        torch_threads=3)  # fmt: skip
    before = torch.get_num_threads()
    try:
        ev = build_evaluator(spec)
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)
    assert (ev.metric, ev.batch_size, ev.budget, ev.reject_implausible) == ("oks", 4, None, True)


def test_a_chunk_that_kills_its_workers_is_named_by_its_points() -> None:
    from posebench.engine.ray_executor import _label
    from posebench.examiner.env import EvalChunk

    assert _label(EvalChunk(2, 16, np.zeros((8, 3)))) == "chunk 2 (points 16 to 23)"
