"""Conditions through the runner: occlusion scoring, determinism across batch sizes, low light."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from posebench.engine.store import UnitCache
from posebench.errors import InputError
from posebench.results import read_results_json
from posebench.runner import RunOptions, load_poses, run
from tests.conftest import reference


def _suite(tmp: Path, conditions: str) -> str:
    p = tmp / "s.yaml"
    p.write_text(
        "name: t\ndataset: coco-sample\nboxes: gt\nbatch_size: 4\n"
        "metrics:\n  - {name: oks, mode: coco}\nconditions:\n  - clean\n" + conditions + "seed: 3\n"
    )
    return str(p)


def test_oracle_is_exact_on_occluded_keypoints(tmp_path: Path) -> None:
    suite = _suite(
        tmp_path,
        "  - {occlusion: rectangles, severities: [2, 5]}\n"
        "  - {occlusion: hands, severities: [3]}\n",
    )
    res = read_results_json(
        run(RunOptions(adapter="oracle", suite=suite, output=tmp_path / "o", n_boot=0, limit=10))
    )
    for key in ("rectangles@2", "rectangles@5", "hands@3"):
        m = res["conditions"][key]["metrics"]
        assert m["oks"]["values"]["AP"] == 1.0
        occ = m["keypoints/occluded"]["values"]
        assert occ["KS_occluded"] == 1.0
        assert occ["KS_other"] == 1.0
        assert occ["covered_keypoints"] > 0
    more = res["conditions"]["rectangles@5"]["metrics"]["keypoints/occluded"]["values"]
    less = res["conditions"]["rectangles@2"]["metrics"]["keypoints/occluded"]["values"]
    assert more["covered_keypoints"] > less["covered_keypoints"]


def test_conditions_are_deterministic_across_batch_sizes(tmp_path: Path) -> None:
    suite = _suite(
        tmp_path,
        "  - {corruption: shot_noise, severities: [4]}\n"
        "  - {occlusion: objects, severities: [3]}\n"
        "  - {lowlight: physics, severities: [2]}\n",
    )
    outs = []
    for b in (1, 3, 7):
        out = run(
            RunOptions(
                adapter="tests.fake_adapters:PixelHashJitter",
                suite=suite,
                output=tmp_path / f"b{b}",
                n_boot=0,
                limit=9,
                batch_size=b,
            )
        )
        outs.append(out)
    for key in ("shot_noise@4", "objects@3", "physics@2"):
        first = load_poses(outs[0] / "predictions" / f"{key}.npz")
        for other in outs[1:]:
            p = load_poses(other / "predictions" / f"{key}.npz")
            np.testing.assert_array_equal(first.keypoints, p.keypoints)
            np.testing.assert_array_equal(first.score, p.score)
    a, b = (read_results_json(o)["conditions"] for o in outs[:2])
    assert {k: c["metrics"] for k, c in a.items()} == {k: c["metrics"] for k, c in b.items()}


def test_mediapipe_does_worse_on_the_keypoints_an_occluder_covers(tmp_path: Path) -> None:
    reference(
        "mediapipe", "pip install mediapipe==0.10.21 --no-deps && pip install -e '.[mediapipe]'"
    )
    suite = _suite(
        tmp_path,
        "  - {occlusion: rectangles, severities: [3]}\n  - {occlusion: objects, severities: [3]}\n",
    )
    res = read_results_json(
        run(RunOptions(adapter="mediapipe", suite=suite, output=tmp_path / "m", n_boot=0, limit=16))
    )
    clean = res["conditions"]["clean"]["metrics"]["oks"]["values"]["AP"]
    for key in ("rectangles@3", "objects@3"):
        m = res["conditions"][key]["metrics"]
        assert m["oks"]["values"]["AP"] < clean
        occ = m["keypoints/occluded"]["values"]
        assert occ["KS_occluded"] < occ["KS_other"], occ


def _unit_keys(run_dir: Path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for key, cond, _ in UnitCache(run_dir / "cache").entries():
        out.setdefault(cond, set()).add(key)
    return out


def test_torch_condition_backend_through_the_runner(tmp_path: Path) -> None:
    """``--condition-backend torch``: its own cache, recorded in results.json, the same images
    where the torch path is exact (low light, contrast), occlusion on the CPU either way, and the
    same predictions whatever the batch size."""
    suite = _suite(
        tmp_path,
        "  - {corruption: contrast, severities: [3]}\n"
        "  - {corruption: shot_noise, severities: [4]}\n"
        "  - {lowlight: physics, severities: [2]}\n"
        "  - {lowlight: exlpose, severities: [4]}\n"
        "  - {occlusion: rectangles, severities: [2]}\n",
    )
    adapter = "tests.fake_adapters:PixelHashJitter"  # any changed pixel changes its output
    out = tmp_path / "run"
    common = {"adapter": adapter, "suite": suite, "n_boot": 0, "limit": 7}
    run(RunOptions(output=out, **common))  # type: ignore[arg-type]
    numpy_pred = {k: load_poses(out / "predictions" / f"{k}.npz") for k in
                  ("clean", "contrast@3", "shot_noise@4", "physics@2", "exlpose@4",
                   "rectangles@2")}  # fmt: skip
    with pytest.raises(InputError, match="holds another run"):  # another backend, another run
        run(RunOptions(output=out, condition_backend="torch", **common))  # type: ignore[arg-type]
    out_t = tmp_path / "run-torch"
    run(RunOptions(output=out_t, condition_backend="torch", **common))  # type: ignore[arg-type]
    res = read_results_json(out_t)
    assert res["condition_backend"] == "torch"
    keys_np, keys_t = _unit_keys(out), _unit_keys(out_t)
    for key in ("contrast@3", "shot_noise@4", "physics@2", "exlpose@4"):
        assert keys_np[key].isdisjoint(keys_t[key]), key  # the torch images: their own keys
    for key in ("clean", "rectangles@2"):  # no torch path: the same units as numpy
        assert keys_np[key] == keys_t[key], key
    out = out_t
    for key in ("contrast@3", "physics@2", "exlpose@4", "clean", "rectangles@2"):
        p = load_poses(out / "predictions" / f"{key}.npz")
        np.testing.assert_array_equal(p.keypoints, numpy_pred[key].keypoints, err_msg=key)
    # batch size does not change what the torch backend computes
    other = tmp_path / "run-b1"
    run(RunOptions(output=other, condition_backend="torch", batch_size=1, **common))  # type: ignore[arg-type]
    for key in ("shot_noise@4", "exlpose@4"):
        a = load_poses(out / "predictions" / f"{key}.npz")
        b = load_poses(other / "predictions" / f"{key}.npz")
        np.testing.assert_array_equal(a.keypoints, b.keypoints, err_msg=key)


def test_frost_texture_source_in_cache_key_and_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Which frost texture ran (the reference photographs or the procedural fallback) is in the
    cache key and results.json, and the two give different images."""
    from posebench.conditions import frost_photos

    reference("imagecorruptions", "pip install imagecorruptions-imaug==1.1.5")
    photos = frost_photos.find_frost_photos()
    assert photos is not None
    suite = _suite(tmp_path, "  - {corruption: frost, severities: [3]}\n")

    def go(out: str) -> tuple[dict[str, Any], set[str], Any]:
        o = run(RunOptions(adapter="tests.fake_adapters:PixelHashJitter", suite=suite,
                           output=tmp_path / out, n_boot=0, limit=3))  # fmt: skip
        return (
            read_results_json(o)["conditions"]["frost@3"],
            _unit_keys(o)["frost@3"],
            load_poses(o / "predictions" / "frost@3.npz"),
        )

    rec, keys, pred = go("photos")
    assert rec["implementation"]["texture"] == "photos"
    assert rec["implementation"]["sha256"] == photos.sha256
    assert rec["implementation"]["distribution"].startswith("imagecorruptions")
    monkeypatch.setattr(frost_photos, "find_frost_photos", lambda: None)
    rec2, keys2, pred2 = go("procedural")
    assert rec2["implementation"] == {"texture": "procedural"}
    assert keys.isdisjoint(keys2)  # the texture source is part of every unit's cache key
    assert not np.array_equal(pred.keypoints, pred2.keypoints)
