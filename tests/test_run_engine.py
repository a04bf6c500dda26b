"""The run engine's storage and faults (issues 14, 15 item 3, 19): content-addressed cache keys,
damaged cache entries recomputed, a full disk, run folders validated on read, merge proofs,
path traversal, and kill -9 at random points followed by the same command."""

from __future__ import annotations

import errno
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from posebench.cli.main import main
from posebench.datasets import load_dataset
from posebench.engine.plan import expand_conditions, make_plan
from posebench.engine.store import UnitCache, run_path
from posebench.errors import InputError
from posebench.results import load_poses, read_results_json
from posebench.runner import RunOptions, merge, run
from posebench.samples import sample_images_dir, sample_path

REPO = Path(__file__).resolve().parent.parent
JITTER = "tests.fake_adapters:CountingJitter"


def _values(res: dict[str, Any]) -> dict[str, Any]:
    return {
        k: {m: b["values"] for m, b in c["metrics"].items()} for k, c in res["conditions"].items()
    }


def _opts(out: Path, **kw: Any) -> RunOptions:
    base: dict[str, Any] = {"adapter": "jitter", "suite": "demo", "output": out, "n_boot": 0}
    base.update(kw)
    return RunOptions(**base)


# ------------------------------------------------------------------------- damaged cache entries


def _count_log(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.mark.parametrize("damage", ["truncate", "flip", "swap", "garbage", "forged", "pickle"])
def test_damaged_cache_entry_is_discarded_and_recomputed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    log = tmp_path / "predict.log"
    monkeypatch.setenv("FAKE_ADAPTER_LOG", str(log))
    out = tmp_path / "run"
    first = read_results_json(run(_opts(out, adapter=JITTER, batch_size=8)))
    n_units = _count_log(log)
    assert n_units == 5  # 36 images in chunks of 8
    entries = sorted((out / "cache").rglob("*.unit"))
    assert len(entries) == n_units
    victim, other = entries[1], entries[3]
    data = victim.read_bytes()
    if damage == "truncate":
        victim.write_bytes(data[: len(data) // 2])
    elif damage == "flip":  # one bit in the middle: the checksum catches it
        b = bytearray(data)
        b[len(b) // 2] ^= 0x01
        victim.write_bytes(bytes(b))
    elif damage == "swap":  # an intact entry of another unit under this key (hostile or a bug)
        victim.write_bytes(other.read_bytes())
    elif damage in ("forged", "pickle"):  # a valid checksum over arrays that do not fit
        import io

        from posebench.engine.store import seal, unseal

        with np.load(io.BytesIO(unseal(data))) as z:
            arrays = {k: z[k] for k in z.files}
        if damage == "forged":
            arrays["keypoints"] = np.zeros((len(arrays["image_id"]), 5, 2))
        else:
            arrays["score"] = np.array([{"x": 1}] * len(arrays["image_id"]), dtype=object)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        victim.write_bytes(seal(buf.getvalue()))
    else:
        victim.write_bytes(b"\x00" * 100)
    log.unlink()
    caplog.set_level("WARNING")
    again = read_results_json(run(_opts(out, adapter=JITTER, batch_size=8)))
    assert _count_log(log) == 1  # only the damaged unit was predicted again
    assert "discarded, recomputing" in caplog.text
    assert victim.name in caplog.text
    assert _values(again) == _values(first)


# ------------------------------------------------------------------------------------ full disk


def test_full_disk_stops_cleanly_and_the_same_command_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = read_results_json(run(_opts(tmp_path / "ref", batch_size=4)))
    out = tmp_path / "run"
    argv = ["run", "--adapter", "jitter", "--suite", "demo", "--output", str(out),
            "--batch-size", "4", "--ci", "0", "--format", "json"]  # fmt: skip
    real_fsync = os.fsync
    calls = {"n": 0}

    def fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] > 4:  # run.json + 3 units written, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "no space left on the device" in err
    assert "run the same command again" in err
    monkeypatch.setattr(os, "fsync", real_fsync)
    cache = out / "cache"
    assert not list(out.rglob("*.tmp"))  # no half-written file anywhere
    assert len(UnitCache(cache).entries()) == len(list(cache.rglob("*.unit"))) == 3
    assert not (out / "results.json").exists()
    # "space freed": the same command finishes from the cache with the reference numbers
    assert main(argv) == 0
    res = json.loads(capsys.readouterr().out)
    assert _values(res) == _values(ref)
    assert res["throughput"]["predicted_images"] == 36 - 3 * 4


# ------------------------------------------------------------------- another run in the folder


def _coco_root(root: Path, *, brighten: int = 0, n: int = 4) -> Path:
    """A data root with coco-val2017 made of the first ``n`` embedded sample images (the
    annotations of those images); ``brighten`` changes every pixel of every image."""
    doc = json.loads(sample_path("coco-val2017-sample").read_text())
    keep = sorted(im["id"] for im in doc["images"])[:n]
    doc["images"] = [im for im in doc["images"] if im["id"] in keep]
    doc["annotations"] = [a for a in doc["annotations"] if a["image_id"] in keep]
    ann = root / "coco/annotations/person_keypoints_val2017.json"
    ann.parent.mkdir(parents=True)
    ann.write_text(json.dumps(doc))
    images = root / "coco/val2017"
    images.mkdir(parents=True)
    src = sample_images_dir("coco-val2017-sample")
    for im in doc["images"]:
        if brighten:
            pix = np.asarray(Image.open(src / im["file_name"]).convert("RGB"), np.int16)
            Image.fromarray(np.clip(pix + brighten, 0, 255).astype(np.uint8)).save(
                images / im["file_name"], quality=95
            )
        else:
            shutil.copy(src / im["file_name"], images / im["file_name"])
    return root


def _suite(tmp: Path) -> str:
    p = tmp / "suite.yaml"
    p.write_text(
        "name: t\ndataset: coco-val2017\nboxes: gt\nbatch_size: 2\n"
        "metrics:\n  - {name: oks, mode: coco}\nconditions:\n  - clean\nseed: 0\n"
    )
    return str(p)


def test_other_data_root_into_the_same_output_is_refused_not_reused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _coco_root(tmp_path / "a")
    b = _coco_root(tmp_path / "b", brighten=40)  # same names, other pixels
    suite = _suite(tmp_path)
    pixel = "tests.fake_adapters:PixelHashJitter"  # its output follows the pixels

    def cli(root: Path, out: Path, *extra: str) -> tuple[int, str, str]:
        code = main(["run", "--adapter", pixel, "--suite", suite, "--data-root", str(root),
                     "--output", str(out), "--ci", "0", "--format", "json", *extra])  # fmt: skip
        o = capsys.readouterr()
        return code, o.out, o.err

    code, out_a, _ = cli(a, tmp_path / "x")
    assert code == 0
    kp_a = load_poses(tmp_path / "x" / "predictions" / "clean.npz").keypoints
    code, _, err = cli(b, tmp_path / "x")
    assert code == 2
    assert "holds another run" in err
    assert "--overwrite" in err
    code, _, err = cli(b, tmp_path / "x", "--resume")
    assert code == 2
    assert "holds another run" in err
    code, out_b, _ = cli(b, tmp_path / "x", "--overwrite")
    assert code == 0
    code, fresh_b, _ = cli(b, tmp_path / "fresh")  # B on its own, no cache anywhere
    assert code == 0
    va, vb, vf = (_values(json.loads(t)) for t in (out_a, out_b, fresh_b))
    assert vb == vf  # B's numbers, not A's predictions
    kp_b = load_poses(tmp_path / "x" / "predictions" / "clean.npz").keypoints
    np.testing.assert_array_equal(
        kp_b, load_poses(tmp_path / "fresh" / "predictions" / "clean.npz").keypoints
    )
    assert kp_a.shape == kp_b.shape
    assert not np.array_equal(kp_a, kp_b)
    assert va.keys() == vb.keys()
    # the same run continues (explicitly with --resume, or just the same command)
    code, again, _ = cli(b, tmp_path / "x", "--resume")
    assert code == 0
    assert _values(json.loads(again)) == vb
    assert json.loads(again)["throughput"]["predicted_images"] == 0
    code, _, err = cli(b, tmp_path / "empty", "--resume")
    assert code == 2
    assert "no run here to resume" in err
    (tmp_path / "afile").write_text("x")
    with pytest.raises(SystemExit) as exc:  # refused by --output's argument type, before a read
        cli(b, tmp_path / "afile")
    assert exc.value.code == 2
    assert "is an existing file; expected a folder" in capsys.readouterr().err


def test_cache_keys_follow_image_bytes_and_nothing_else(tmp_path: Path) -> None:
    """Replacing one image's bytes changes the keys of exactly the units that hold it (in every
    condition); the same data under another root gives the same keys."""
    a = _coco_root(tmp_path / "a", n=6)
    a2 = _coco_root(tmp_path / "a2", n=6)
    b = _coco_root(tmp_path / "b", n=6)
    ds_b = load_dataset("coco-val2017", b)
    victim = int(np.sort(ds_b.images.id)[3])
    p = ds_b.image_path(victim)
    pix = np.asarray(Image.open(p).convert("RGB")).copy()
    pix[0, 0] = 255 - pix[0, 0]  # one pixel
    Image.fromarray(pix).save(p, format="PNG")  # any other bytes

    conds = expand_conditions([
        "clean",
        {"kind": "corruption", "name": "contrast", "severities": [2]},
        {"kind": "occlusion", "name": "rectangles", "severities": [1]},  # donors: every image
    ])  # fmt: skip

    def keys(root: Path) -> list[tuple[tuple[int, ...], str]]:
        plan = make_plan(load_dataset("coco-val2017", root), conds, adapter_sig="abc",
                         suite={}, seed=0, box_source="gt", batch_size=2)  # fmt: skip
        return [(u.image_ids, u.key) for u in plan.units]

    ka, ka2, kb = keys(a), keys(a2), keys(b)
    assert ka == ka2
    changed = [ids for (ids, x), (_, y) in zip(ka, kb, strict=True) if x != y]
    n = len(ka) // 3
    assert changed[:-n]
    assert all(victim in ids for ids in changed[:-n])
    assert len(changed) == 2 + n  # clean, contrast: the victim's unit; occlusion: every unit
    # the adapter signature and the seed are in every key
    plan = make_plan(load_dataset("coco-val2017", a), conds, adapter_sig="abd", suite={},
                     seed=0, box_source="gt", batch_size=2)  # fmt: skip
    assert not {k for _, k in ka} & {u.key for u in plan.units}
    plan = make_plan(load_dataset("coco-val2017", a), conds, adapter_sig="abc", suite={},
                     seed=1, box_source="gt", batch_size=2)  # fmt: skip
    assert not {k for _, k in ka} & {u.key for u in plan.units}


# ---------------------------------------------------------------- run folders read by one module


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "run"
    run(_opts(out, n_boot=20))
    return out


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _edit(run_dir: Path, fn: Any) -> None:
    p = run_dir / "results.json"
    d = json.loads(p.read_text())
    fn(d)
    p.write_text(json.dumps(d))


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d.pop("conditions"), "'conditions'"),
        (lambda d: d.update(conditions=[]), "field 'conditions': expected an object, got an array"),
        (lambda d: d.update(shard="1/1"), "field 'shard'"),
        (lambda d: d.update(shard=[3, 2]), "field 'shard'"),
        (lambda d: d.pop("suite"), "field 'suite'"),
        (lambda d: d.update(dataset={"name": 3}), "field 'dataset.name'"),
        (lambda d: d.update(seed="0"), "field 'seed'"),
        (lambda d: d["conditions"]["clean"].update(severity="0"), "field 'severity'"),
        (
            lambda d: d["conditions"]["clean"]["metrics"]["oks"]["values"].update(AP="0.9"),
            "field 'values.AP'",
        ),
        (
            lambda d: d["conditions"]["clean"]["metrics"]["oks"]["values"].update(AP=True),
            "field 'values.AP'",
        ),
        (
            lambda d: d["conditions"].update({"../../x": d["conditions"]["clean"]}),
            "not a safe name",
        ),
    ],
)
@pytest.mark.parametrize("command", ["compare", "report", "merge"])
def test_bad_results_json_exits_2_naming_file_and_field(
    finished: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    edit: Any,
    field: str,
    command: str,
) -> None:
    bad = _copy(finished, tmp_path / "bad")
    _edit(bad, edit)
    argv = {
        "compare": ["compare", str(finished), str(bad)],
        "report": ["report", str(bad)],
        "merge": ["merge", str(bad), "--output", str(tmp_path / "m")],
    }[command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "bad/results.json" in err
    assert field in err
    assert "Traceback" not in err
    assert not (tmp_path / "x").exists()
    assert not (tmp_path.parent / "x").exists()


def test_duplicate_keys_and_deep_nesting_refused(finished: Path, tmp_path: Path) -> None:
    bad = _copy(finished, tmp_path / "bad")
    text = (bad / "results.json").read_text()
    (bad / "results.json").write_text(text.replace('"seed":', '"seed": 5, "seed":', 1))
    with pytest.raises(InputError, match="duplicate key 'seed'"):
        read_results_json(bad)
    (bad / "results.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match=r"nested too deep|expected schema"):
        read_results_json(bad)


@pytest.mark.parametrize("target", ["samples.parquet", "matches/clean.oks.npz"])
@pytest.mark.parametrize("digests", [True, False])
def test_truncated_or_changed_files_exit_2(
    finished: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str, digests: bool
) -> None:
    """With the digests results.json records, any change is caught by the checksum; without
    them (a run folder of an older posebench), by the reader, naming the file."""
    bad = _copy(finished, tmp_path / "bad")
    if not digests:
        _edit(bad, lambda d: d.pop("files"))
    p = bad / target
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    if target.startswith("matches"):  # compare pairs the OKS match records
        argv = ["compare", str(finished), str(bad)]
    else:  # the HTML report's worst images come from the samples
        argv = ["report", str(bad), "--output", str(tmp_path / "r.html")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert target in err
    assert ("checksum mismatch" if digests else "not a readable") in err


def test_npz_without_an_expected_array_names_it(
    finished: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _copy(finished, tmp_path / "bad")
    _edit(bad, lambda d: d.pop("files"))
    p = bad / "matches" / "clean.oks.npz"
    with np.load(p) as z:
        arrays = {k: z[k] for k in z.files if not k.endswith(".det_score")}
    np.savez(p, **arrays)
    assert main(["compare", str(finished), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "clean.oks.npz" in err
    assert "0.det_score" in err
    assert "missing array" in err
    # predictions without keypoints: merge names the array
    bad2 = _copy(finished, tmp_path / "bad2")
    p = bad2 / "predictions" / "clean.npz"
    with np.load(p) as z:
        arrays = {k: z[k] for k in z.files if k != "keypoints"}
    np.savez(p, **arrays)
    _edit(bad2, lambda d: d["files"].update({"predictions/clean.npz": _sha(p)}))
    assert main(["merge", str(bad2), "--output", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "predictions/clean.npz" in err
    assert "'keypoints'" in err


def test_npz_inflating_past_the_cap_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bomb = tmp_path / "bomb.npz"
    ids = np.zeros(1 << 18, np.int64)
    np.savez_compressed(bomb, image_id=ids, keypoints=np.zeros((1 << 18, 1, 2)))
    assert bomb.stat().st_size < 100_000  # 6 MiB of zeros, compressed
    monkeypatch.setenv("POSEBENCH_MAX_NPZ_BYTES", str(1 << 20))
    with pytest.raises(InputError, match="more than the 1048576 allowed"):
        load_poses(bomb)
    monkeypatch.setenv("POSEBENCH_MAX_NPZ_BYTES", str(8 << 20))
    assert load_poses(bomb).keypoints.shape == (1 << 18, 1, 2)


def _sha(p: Path) -> str:
    import hashlib

    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_run_path_whitelist_and_containment(tmp_path: Path) -> None:
    assert run_path(tmp_path, "predictions", "motion_blur@3.npz") == (
        tmp_path / "predictions" / "motion_blur@3.npz"
    )
    for bad in ("../x", "..", ".", "a/b", "x\x1b[31m", "", ".hidden", "a b", "c:\\x"):
        with pytest.raises(InputError, match="not a safe name"):
            run_path(tmp_path, "predictions", bad)
    (tmp_path / "predictions").mkdir()
    (tmp_path / "predictions" / "link.npz").symlink_to(tmp_path.parent / "elsewhere.npz")
    with pytest.raises(InputError, match="resolves outside"):
        run_path(tmp_path, "predictions", "link.npz")


# ---------------------------------------------------------------------------------------- merge


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], dict[str, Any]]:
    base = tmp_path_factory.mktemp("shards")
    kw: dict[str, Any] = {"adapter_args": {"false_positives": "1", "miss": "0.1"}, "n_boot": 0}
    one = read_results_json(run(_opts(base / "one", **kw)))
    parts = [base / f"s{i}" for i in (1, 2)]
    for i, p in enumerate(parts):
        run(_opts(p, shard=(i, 2), **kw))
    return base, parts, one


def test_merge_equals_one_pass_and_refuses_a_replaced_shard(
    shards: tuple[Path, list[Path], dict[str, Any]], tmp_path: Path
) -> None:
    _, (s1, s2), one = shards
    merged = read_results_json(merge([s1, s2], tmp_path / "merged"))
    assert _values(merged) == _values(one)
    # shard 2 replaced by a copy of shard 1
    fake = _copy(s1, tmp_path / "fake2")
    with pytest.raises(InputError, match="exactly once"):
        merge([s1, fake], tmp_path / "m1")
    # only its predictions replaced by shard 1's: the digest does not match
    fake = _copy(s2, tmp_path / "fake3")
    shutil.copy(s1 / "predictions" / "clean.npz", fake / "predictions" / "clean.npz")
    with pytest.raises(InputError, match="checksum mismatch"):
        merge([s1, fake], tmp_path / "m2")

    # ... and its digest and ids rewritten to match: the plan gives shard 2 other images
    def forge(d: dict[str, Any]) -> None:
        src = json.loads((s1 / "results.json").read_text())
        d["files"]["predictions/clean.npz"] = src["files"]["predictions/clean.npz"]
        d["plan"]["image_ids"] = src["plan"]["image_ids"]
        d["plan"]["image_ids_sha256"] = src["plan"]["image_ids_sha256"]

    _edit(fake, forge)
    with pytest.raises(InputError, match="other images than the plan gives shard 2"):
        merge([s1, fake], tmp_path / "m3")
    # ids left alone, predictions swapped in with a forged digest: poses outside the shard
    fake = _copy(s2, tmp_path / "fake4")
    shutil.copy(s1 / "predictions" / "clean.npz", fake / "predictions" / "clean.npz")
    _edit(fake, lambda d: d["files"].update(
        {"predictions/clean.npz": _sha(fake / "predictions" / "clean.npz")}))  # fmt: skip
    with pytest.raises(InputError, match="predictions on images outside this shard"):
        merge([s1, fake], tmp_path / "m4")
    for m in ("m1", "m2", "m3", "m4"):
        assert not (tmp_path / m / "results.json").exists()


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d.pop("seed"), "field 'seed'"),
        (lambda d: d.pop("box_source"), "field 'box_source'"),
        (lambda d: d.pop("plan"), "field 'plan'"),
        (lambda d: d["plan"].update(batch_size="8"), "field 'plan.batch_size'"),
        (lambda d: d["plan"].update(image_ids=["1"]), "field 'plan.image_ids'"),
        (lambda d: d["plan"].update(image_ids_sha256="0" * 64), "field 'plan.image_ids_sha256'"),
        (lambda d: d.update(suite={"name": "x", "metrics": 5}), "field 'suite'"),
        (lambda d: d.pop("timings"), None),  # not needed: merged without it
    ],
)
def test_merge_needs_its_fields(
    shards: tuple[Path, list[Path], dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    edit: Any,
    field: str | None,
) -> None:
    _, (s1, s2), one = shards
    bad = _copy(s2, tmp_path / "s2")
    _edit(bad, edit)
    code = main(["merge", str(s1), str(bad), "--output", str(tmp_path / "m"), "--format", "json"])
    out = capsys.readouterr()
    if field is None:
        assert code == 0
        assert _values(json.loads(out.out)) == _values(one)
    else:
        assert code == 2
        assert "results.json" in out.err
        assert field in out.err
        assert not (tmp_path / "m" / "results.json").exists()


def test_merge_condition_key_traversal_refused(
    shards: tuple[Path, list[Path], dict[str, Any]], tmp_path: Path
) -> None:
    _, (s1, s2), _ = shards
    evil = [_copy(s1, tmp_path / "e1"), _copy(s2, tmp_path / "e2")]
    for e in evil:
        _edit(e, lambda d: d.update(conditions={"../../escaped": d["conditions"]["clean"]}))
    with pytest.raises(InputError, match="not a safe name"):
        merge(evil, tmp_path / "out" / "m")
    assert not list(tmp_path.rglob("escaped*"))


# ---------------------------------------------------------------- kill -9 and the same command


def _cli(out: Path, log: Path, die_after: int = 0) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "posebench", "run", "--adapter", JITTER, "--suite", "demo",
           "--output", str(out), "--batch-size", "4", "--ci", "50", "--format", "json"]  # fmt: skip
    env = {**os.environ, "FAKE_ADAPTER_LOG": str(log), "FAKE_ADAPTER_DIE_AFTER": str(die_after)}
    return subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _batches(log: Path) -> list[tuple[int, ...]]:
    if not log.exists():
        return []
    return [tuple(int(x) for x in line.split()) for line in log.read_text().splitlines()]


@pytest.mark.slow
def test_kill_9_at_random_points_then_the_same_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several kills (inside predict, and SIGKILL at a random moment: start-up, planning,
    predicting, evaluating or writing), each followed by the same command: the final numbers
    equal an uninterrupted run, and no unit that was in the cache is predicted again."""
    monkeypatch.setenv("FAKE_ADAPTER_LOG", str(tmp_path / "ref.log"))
    ref = read_results_json(run(_opts(tmp_path / "ref", adapter=JITTER, batch_size=4, n_boot=50)))
    all_units = set(_batches(tmp_path / "ref.log"))
    assert len(all_units) == 9
    out = tmp_path / "run"
    rng = random.Random(20261206)
    plan = [
        ("die", 3),
        ("time", rng.uniform(0.5, 4.0)),
        ("die", 2),
        ("time", rng.uniform(2.0, 6.0)),
    ]
    for step, (how, arg) in enumerate(plan):
        cached = {ids for _, _, ids in UnitCache(out / "cache").entries()}
        log = tmp_path / f"step{step}.log"
        p = _cli(out, log, die_after=int(arg) if how == "die" else 0)
        if how == "time":
            time.sleep(float(arg))
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
        p.communicate(timeout=300)
        done_now = set(_batches(log))
        assert not done_now & cached, f"step {step}: cached units predicted again"
    cached = {ids for _, _, ids in UnitCache(out / "cache").entries()}
    final = _cli(out, tmp_path / "final.log")
    final_out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err
    redone = set(_batches(tmp_path / "final.log"))
    assert not redone & cached
    assert cached | redone == all_units
    assert not list(out.rglob("*.tmp"))
    a, b = ref, json.loads(final_out)
    assert _values(a) == _values(b)
    for k in a["conditions"]:
        assert (
            a["conditions"][k]["metrics"]["oks"]["ci"] == b["conditions"][k]["metrics"]["oks"]["ci"]
        )


# ------------------------------------------------------------------------------ executor flags


def test_executor_ray_without_ray_gives_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    argv = ["run", "--adapter", "jitter", "--suite", "demo", "--output", str(tmp_path / "o"),
            "--executor", "ray"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "pip install 'posebench[ray]'" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--workers", "2"], "need --executor ray"),
        (["--executor", "ray", "--workers", "0"], "--workers: expected an integer from 1"),
        (["--resume", "--overwrite"], "not allowed with argument"),
    ],
)
def test_executor_flags_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    argv = [
        "run",
        "--adapter",
        "jitter",
        "--suite",
        "demo",
        "--output",
        str(tmp_path / "o"),
        *extra,
    ]
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own usage errors
        code = int(e.code or 0)
    assert code == 2
    assert message in capsys.readouterr().err


# ---------------------------------------------------------------------------- the import graph


def _imports(path: Path) -> set[str]:
    """Every posebench module a file imports at run time, at module level or inside functions
    (``if TYPE_CHECKING:`` blocks are for the type checker only)."""
    import ast

    tree = ast.parse(path.read_text())
    typing_only = {
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and getattr(block.test, "id", "") == "TYPE_CHECKING"
        for n in ast.walk(block)
    }
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("posebench"):
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("posebench"))
    return out


def test_run_folders_are_read_without_the_runner_and_the_engine_has_no_cycle() -> None:
    pkg = REPO / "posebench"
    readers = [pkg / "results.py", pkg / "compare.py", *(pkg / "report").glob("*.py"),
               pkg / "cli" / "compare.py", pkg / "cli" / "report.py"]  # fmt: skip
    for f in readers:
        assert "posebench.runner" not in _imports(f), f
    # plan -> store; execute -> plan, store; evaluation -> plan, store; runner -> all; none back
    names = {p.stem: p for p in (pkg / "engine").glob("*.py") if p.stem != "__init__"}
    allowed = {
        "store": set(),
        "plan": {"store"},
        "execute": {"plan", "store"},
        "ray_executor": {"execute", "plan", "store"},
        "evaluation": {"plan", "store"},
    }
    assert set(names) == set(allowed)
    for stem, path in names.items():
        used = {m.split(".")[2] for m in _imports(path) if m.startswith("posebench.engine.")}
        assert used <= allowed[stem], (stem, used - allowed[stem])
        assert "posebench.runner" not in _imports(path)


# ----------------------------------------------------------- the Ray scheduling loop, without Ray


class _FakeRay:
    """The parts of the ``ray`` module that :meth:`RayExecutor.execute` uses: refs resolve in
    submission order; a unit listed in ``die`` kills the actor running it that many times."""

    class exceptions:  # mirrors ray.exceptions
        class RayError(Exception):
            pass

        class RayTaskError(RayError):
            pass

    def __init__(self, die: dict[int, int]) -> None:
        self.die = dict(die)
        self.outstanding: list[Any] = []
        self.max_outstanding = 0
        self.calls: list[tuple[int, int]] = []  # (actor, unit index)

    def actor(self, idx: int) -> Any:
        fake = self

        class _Method:
            def remote(self, unit: Any) -> Any:
                ref = (idx, unit)
                fake.outstanding.append(ref)
                fake.max_outstanding = max(fake.max_outstanding, len(fake.outstanding))
                fake.calls.append((idx, unit.index))
                return ref

        class _Actor:
            run = _Method()

        return _Actor()

    def wait(self, refs: list[Any], num_returns: int = 1) -> tuple[list[Any], list[Any]]:
        first = next(r for r in self.outstanding if r in refs)
        return [first], [r for r in refs if r is not first]

    def get(self, ref: Any) -> Any:
        self.outstanding.remove(ref)
        _, unit = ref
        if self.die.get(unit.index, 0) > 0:
            self.die[unit.index] -= 1
            raise self.exceptions.RayError("actor died")
        return f"out-{unit.index}"


def _fake_executor(die: dict[int, int], workers: int, max_in_flight: int) -> tuple[Any, _FakeRay]:
    from posebench.engine.ray_executor import RayExecutor

    fake = _FakeRay(die)
    ex = object.__new__(RayExecutor)
    ex.ray, ex.max_in_flight, ex.failures = fake, max_in_flight, 0
    ex.actors = [fake.actor(i) for i in range(workers)]
    return ex, fake


def _units(n: int) -> list[Any]:
    from posebench.engine.plan import Condition, WorkUnit

    return [WorkUnit(i, Condition("clean", "clean"), i, (i,), ("0" * 64,), f"{i:064x}")
            for i in range(n)]  # fmt: skip


def test_ray_loop_bounds_in_flight_and_retries_a_dead_workers_unit_elsewhere() -> None:
    ex, fake = _fake_executor({3: 1, 7: 2}, workers=3, max_in_flight=4)
    done: list[Any] = []
    ex.execute(_units(20), lambda u, o: done.append((u.index, o)))
    assert fake.max_outstanding <= 4
    assert sorted(done) == [(i, f"out-{i}") for i in range(20)]  # each once, none lost
    assert ex.failures == 3
    for unit in (3, 7):  # the retry went to another actor than the one that died
        actors = [a for a, u in fake.calls if u == unit]
        assert len(actors) == 1 + {3: 1, 7: 2}[unit]
        assert all(a != b for a, b in itertools.pairwise(actors))


def test_ray_loop_stops_on_a_unit_that_keeps_killing_its_worker() -> None:
    ex, _ = _fake_executor({2: 99}, workers=2, max_in_flight=2)
    with pytest.raises(InputError, match="killed its worker 3 times"):
        ex.execute(_units(5), lambda u, o: None)
