"""Numbers and errors never depend on the thread count (posebench.parallel).

The results reader parses big files in pieces (one thread each), the greedy matching runs images
in pieces, the bootstrap kernel replicates in blocks. Checked here: 1, 2, 3 and 5 threads give the
same columns, the same match records and statistics and the same error message (naming the same
record) as one thread and as the validating reader / the numpy matching; the reader's cut-point
guesses that are wrong (a key holding ``},{``) and braces that begin no record (a key holding
``{``) change nothing.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from posebench import parallel
from posebench.errors import InputError
from posebench.formats import coco, fastjson
from posebench.metrics import bootstrap, cocoeval
from posebench.skeletons import COCO17, CROWDPOSE14
from posebench.synthetic import make_keypoint_dataset

if not fastjson.available() or cocoeval._cocoeval_kernel is None:
    msg = (
        "posebench's C extensions are not built (no C compiler at install time?): "
        "`pip install -e .` builds them"
    )
    if os.environ.get("POSEBENCH_REQUIRE_REFERENCES") == "1" or os.environ.get("CI"):
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg, allow_module_level=True)

THREADS = (1, 2, 3, 5)


def _write(tmp_path: Path, n_images: int, seed: int, style: int, **kw: Any) -> tuple[Path, Path]:
    gt_dict, results = make_keypoint_dataset(n_images, seed=seed, dets_per_image=8.0, **kw)
    gt_path, res_path = tmp_path / "gt.json", tmp_path / "res.json"
    gt_path.write_text(json.dumps(gt_dict))
    if style == 0:
        text = json.dumps(results, separators=(",", ":"))
    elif style == 1:
        text = json.dumps(results)
    else:
        text = json.dumps(results, indent=2)
    res_path.write_text(text)
    return gt_path, res_path


def _same_columns(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert sorted(a) == sorted(b)
    for name in a:
        assert a[name].dtype == b[name].dtype, name
        assert a[name].shape == b[name].shape, name
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@pytest.fixture
def pieces(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Split every file, whatever its size; records whether the pieces were used."""
    monkeypatch.setattr(fastjson, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(fastjson, "CHUNK_BYTES", 4096)
    used: list[bool] = []
    real = fastjson._read_pieces

    def spy(*args: Any, **kw: Any) -> Any:
        out = real(*args, **kw)
        used.append(out is not None)
        return out

    monkeypatch.setattr(fastjson, "_read_pieces", spy)
    return used


@pytest.mark.parametrize("style", [0, 1, 2])
def test_results_read_in_pieces_equal_one_piece_and_the_validating_reader(
    tmp_path: Path, pieces: list[bool], style: int
) -> None:
    gt_path, res_path = _write(tmp_path, 40, seed=style, style=style, bbox="mixed")
    one = fastjson.read_columns(res_path, 17, threads=1)
    assert one is not None
    assert pieces == []  # one thread: no pieces
    for n in THREADS[1:]:
        cols = fastjson.read_columns(res_path, 17, threads=n)
        assert cols is not None
        assert pieces[-1] is True  # the pieces were used, and verified
        _same_columns(cols, one)
    gt = coco.read_gt(gt_path)
    saved = fastjson._fastjson
    fastjson._fastjson = None
    try:
        slow = coco.read_results(res_path, gt)
    finally:
        fastjson._fastjson = saved
    np.testing.assert_array_equal(one["keypoints"], slow.keypoints[:, :, :2])
    np.testing.assert_array_equal(one["score"], slow.score)
    np.testing.assert_array_equal(one["image_id"], slow.image_id)


def _records(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "image_id": i // 3 + 1,
            "category_id": 1,
            "keypoints": [round(rng.uniform(0, 640), 2) for _ in range(51)],
            "score": round(rng.random(), 4),
        }
        for i in range(n)
    ]


def test_a_wrong_cut_guess_falls_back_to_one_piece(tmp_path: Path, pieces: list[bool]) -> None:
    # Every record carries a key that looks like a record boundary: each cut point's guess
    # lands inside a key, the piece before it does not end there, and one piece reads the file.
    recs = _records(300, 0)
    for r in recs:
        r["x},{"] = 1
    path = tmp_path / "res.json"
    path.write_text(json.dumps(recs, separators=(",", ":")))
    one = fastjson.read_columns(path, 17, threads=1)
    assert one is not None
    assert len(one["score"]) == 300
    for n in THREADS[1:]:
        cols = fastjson.read_columns(path, 17, threads=n)
        assert cols is not None
        _same_columns(cols, one)
    assert False in pieces  # (a cut that lands between the key and the record's end is right)


def test_braces_that_begin_no_record_are_closed_up(tmp_path: Path, pieces: list[bool]) -> None:
    # Keys holding "{" make the brace count exceed the records: the rows are moved together.
    recs = _records(300, 1)
    for i, r in enumerate(recs):
        if i % 7 == 0:
            r["a{{"] = i
    path = tmp_path / "res.json"
    path.write_text(json.dumps(recs))
    one = fastjson.read_columns(path, 17, threads=1)
    assert one is not None
    for n in THREADS[1:]:
        cols = fastjson.read_columns(path, 17, threads=n)
        assert pieces[-1] is True
        assert cols is not None
        _same_columns(cols, one)
    np.testing.assert_array_equal(one["score"], [r["score"] for r in recs])


BAD_RECORD = {
    "string score": ('"score": 0.5', '"score": "0.5"'),
    "short keypoints": ('"keypoints": [', '"keypoints": [1.0, '),
    "unknown category": ('"category_id": 1', '"category_id": 7'),
    "null keypoint": ('"keypoints": [', '"keypoints": [null, '),
    "truncated": None,
}


@pytest.mark.parametrize("name", sorted(BAD_RECORD))
def test_errors_name_the_same_record_whatever_the_thread_count(
    tmp_path: Path, pieces: list[bool], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    recs = _records(400, 2)
    bad = 283  # in the second half: a later piece meets it first
    recs[bad]["score"] = 0.5
    text = json.dumps(recs)
    if BAD_RECORD[name] is None:
        text = text[: len(text) * 3 // 4]
    else:
        old, new = BAD_RECORD[name]
        head, tail = text.split("}, {", bad)[:bad], text.split("}, {", bad)[bad]
        assert old in tail.split("}")[0]
        tail = tail.replace(old, new, 1)
        text = "}, {".join([*head, tail])
    gt_dict, _ = make_keypoint_dataset(3, seed=0)
    gt_dict["images"] = [{"id": i, "width": 640, "height": 480} for i in range(1, 200)]
    for a in gt_dict["annotations"]:
        a["image_id"] = 1
    gt_path, res_path = tmp_path / "gt.json", tmp_path / "res.json"
    gt_path.write_text(json.dumps(gt_dict))
    res_path.write_text(text)
    messages = set()
    for n in THREADS:
        monkeypatch.setenv(parallel.ENV, str(n))
        with pytest.raises(InputError) as e:
            coco.read_gt_and_results(gt_path, res_path)
        messages.add(str(e.value))
    assert len(messages) == 1, messages
    (msg,) = messages
    if name != "truncated":
        assert f"results[{bad}]" in msg


def _evaluate(gt: Any, dt: Any, params: cocoeval.OksParams, mode: Any) -> Any:
    return cocoeval.evaluate_oks(
        gt.poses, dt, gt.images, params, category_ids=gt.category_ids, mode=mode
    )


def _same_matches(a: cocoeval.OksMatches, b: cocoeval.OksMatches) -> None:
    for name in ("det_match", "det_ignore", "det_tp", "gt_match", "gt_ignore", "det_row",
                 "gt_row", "pair_oks"):  # fmt: skip
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)


@pytest.mark.parametrize(
    ("mode", "overrides"),
    [
        ("coco", {}),
        ("coco", {"gt_id0": "pycocotools", "max_dets": (5,)}),
        ("coco", {"gt_negative_id": "xtcocotools", "gt_ignore": "num_keypoints"}),
        ("crowdpose", {}),
    ],
)
def test_kernels_equal_the_numpy_matching_and_accumulation_at_every_thread_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, overrides: dict[str, Any]
) -> None:
    crowd = mode == "crowdpose"
    sk = CROWDPOSE14 if crowd else COCO17
    gt_dict, results = make_keypoint_dataset(150, seed=7, dets_per_image=12.0, skeleton=sk.name)
    # a GT id 0 and a negative id, so that the id rules have something to decide
    gt_dict["annotations"][0]["id"] = 0
    gt_dict["annotations"][1]["id"] = -5
    (tmp_path / "gt.json").write_text(json.dumps(gt_dict))
    (tmp_path / "res.json").write_text(json.dumps(results))
    gt, dt, _ = coco.read_gt_and_results(tmp_path / "gt.json", tmp_path / "res.json")
    make = cocoeval.crowdpose_params if crowd else cocoeval.coco_params
    params = make(sk.oks_sigmas(), **overrides)
    monkeypatch.setattr(cocoeval, "_MATCH_MIN_DETS", 1)
    monkeypatch.setattr(cocoeval, "_ACC_MIN_DETS", 1)
    kernel = cocoeval._cocoeval_kernel
    monkeypatch.setattr(cocoeval, "_cocoeval_kernel", None)
    ref = _evaluate(gt, dt, params, mode)
    monkeypatch.setattr(cocoeval, "_cocoeval_kernel", kernel)
    for n in THREADS:
        monkeypatch.setenv(parallel.ENV, str(n))
        ev = _evaluate(gt, dt, params, mode)
        assert ev.stats == ref.stats or all(
            (np.isnan(ev.stats[k]) and np.isnan(ref.stats[k])) or ev.stats[k] == ref.stats[k]
            for k in ref.stats
        )
        np.testing.assert_array_equal(ev.precision, ref.precision)
        np.testing.assert_array_equal(ev.recall, ref.recall)
        np.testing.assert_array_equal(ev.scores, ref.scores)
        for a, b in zip(ev.per_category, ref.per_category, strict=True):
            _same_matches(a, b)


def test_bootstrap_intervals_do_not_depend_on_the_thread_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gt_dict, results = make_keypoint_dataset(60, seed=4, dets_per_image=6.0)
    (tmp_path / "gt.json").write_text(json.dumps(gt_dict))
    (tmp_path / "res.json").write_text(json.dumps(results))
    gt, dt, _ = coco.read_gt_and_results(tmp_path / "gt.json", tmp_path / "res.json")
    params = cocoeval.coco_params(COCO17.oks_sigmas())
    ev = _evaluate(gt, dt, params, "coco")
    out = []
    for n in (1, 3):
        monkeypatch.setenv(parallel.ENV, str(n))
        boot = bootstrap.bootstrap_oks(list(ev.per_category), params, n_boot=200, seed=1)
        out.append({k: v.as_dict() for k, v in boot.items()})
    assert out[0] == out[1]
    # the estimates read from the evaluation's curves: the same intervals
    given = bootstrap.bootstrap_oks(
        list(ev.per_category), params, n_boot=200, seed=1, curves=(ev.precision, ev.recall)
    )
    assert {k: v.as_dict() for k, v in given.items()} == out[0]


@pytest.mark.parametrize(
    ("text", "expected"), [("1", 1), ("3", 3), (" 2 ", 2), ("auto", None), ("0", None)]
)
def test_thread_count_from_text(text: str, expected: int | None) -> None:
    want = parallel.available_cpus() if expected is None else expected
    assert parallel.parse_threads(text) == want


@pytest.mark.parametrize("text", ["-1", "two", "1.5"])
def test_a_bad_thread_count_names_the_variable(text: str) -> None:
    with pytest.raises(InputError, match=parallel.ENV):
        parallel.parse_threads(text)


def test_the_python_chunk_loop_gives_the_compiled_loops_columns(
    tmp_path: Path, pieces: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Where the compiled loop cannot open the file by name (status 3), the Python loop reads
    # it through the open file object: the same columns, in one piece and in pieces.
    _, res_path = _write(tmp_path, 30, seed=5, style=1, bbox="mixed")
    want = {n: fastjson.read_columns(res_path, 17, threads=n) for n in (1, 3)}
    assert fastjson._fastjson is not None
    monkeypatch.setattr(fastjson._fastjson, "parse_file", lambda *a: (3, 0))
    for n in (1, 3):
        got, ref = fastjson.read_columns(res_path, 17, threads=n), want[n]
        assert got is not None
        assert ref is not None
        _same_columns(got, ref)


@pytest.mark.parametrize("scores", [False, True])
def test_results_parsed_before_the_imports_equal_the_readers_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scores: bool
) -> None:
    # posebench score starts posebench.formats.prefetch before numpy imports; the reader then
    # wraps its columns. They must be the columns it reads itself, and the evaluation the same.
    from posebench.formats import prefetch

    monkeypatch.setattr(prefetch, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(prefetch, "CHUNK_BYTES", 4096)
    gt_path, res_path = _write(tmp_path, 60, seed=9, style=2, bbox="mixed")
    for r in (recs := json.loads(res_path.read_text()))[::5]:
        r["a{"] = 1  # braces that begin no record: the gaps are closed up
    res_path.write_text(json.dumps(recs))
    used: list[bool] = []
    real = fastjson._from_prefetch
    monkeypatch.setattr(fastjson, "_from_prefetch", lambda *a: used.append(True) or real(*a))
    want = fastjson.read_columns(res_path, 17, scores=scores, threads=1)
    assert want is not None
    for n in (2, 3):
        prefetch.start(str(res_path), scores=scores, threads=n)
        got = fastjson.read_columns(res_path, 17, scores=scores, threads=n)
        assert used.pop() is True
        assert got is not None
        _same_columns(got, want)
    # through read_gt_and_results and the evaluation
    monkeypatch.setenv(parallel.ENV, "2")
    gt, dt, _ = coco.read_gt_and_results(gt_path, res_path, keypoint_scores=scores)
    prefetch.start(str(res_path), scores=scores, threads=2)
    gt2, dt2, _ = coco.read_gt_and_results(gt_path, res_path, keypoint_scores=scores)
    assert used.pop() is True
    params = cocoeval.coco_params(COCO17.oks_sigmas())
    assert _evaluate(gt, dt, params, "coco").stats == _evaluate(gt2, dt2, params, "coco").stats


def test_a_prefetched_file_that_changed_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from posebench.formats import prefetch

    monkeypatch.setattr(prefetch, "PARALLEL_MIN_BYTES", 0)
    _, res_path = _write(tmp_path, 20, seed=3, style=0)
    prefetch.start(str(res_path), scores=False, threads=2)
    assert prefetch._job is not None
    prefetch._job.done.wait()
    recs = json.loads(res_path.read_text())
    recs[0]["score"] = 0.123456  # another file now: another size or modification time
    res_path.write_text(json.dumps(recs) + "\n")
    os.utime(res_path, ns=(1, 1))
    got = fastjson.read_columns(res_path, 17, scores=False, threads=1)
    assert got is not None
    assert got["score"][0] == 0.123456
    # a prefetch for another path, K or score choice is not taken either
    prefetch.start(str(res_path), scores=True, threads=2)
    assert fastjson.read_columns(res_path, 17, scores=False, threads=1) is not None
    assert prefetch._job is None


def test_prefetch_never_opens_a_pipe(tmp_path: Path) -> None:
    from posebench.formats import prefetch

    fifo = tmp_path / "res.fifo"
    os.mkfifo(fifo)
    prefetch.start(str(fifo), scores=False, threads=2)  # would block in open() if it tried
    job = prefetch._job
    assert job is not None
    assert job.done.wait(timeout=10)
    assert job.result is None
    assert prefetch.take(fifo, 17, False) is None


def test_a_ground_truth_error_with_a_prefetch_running_is_the_same_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from posebench.formats import prefetch

    monkeypatch.setattr(prefetch, "PARALLEL_MIN_BYTES", 0)
    gt_path, res_path = _write(tmp_path, 30, seed=2, style=0)
    gt = json.loads(gt_path.read_text())
    gt["annotations"][3]["keypoints"] = "oops"
    gt_path.write_text(json.dumps(gt))
    with pytest.raises(InputError) as plain:
        coco.read_gt_and_results(gt_path, res_path)
    prefetch.start(str(res_path), scores=True, threads=2)
    with pytest.raises(InputError) as fetched:
        coco.read_gt_and_results(gt_path, res_path)
    assert str(fetched.value) == str(plain.value)
    assert "annotations[3]" in str(plain.value)
    assert prefetch._job is None or prefetch._job.done.wait(timeout=10)


def test_a_file_of_braces_allocates_nothing_for_them(
    tmp_path: Path, pieces: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    # More "{" than records could fit in the file: the pieces (and the prefetch) step aside
    # rather than allocate a row per brace; one piece then finds the file irregular.
    from posebench.formats import prefetch

    monkeypatch.setattr(prefetch, "PARALLEL_MIN_BYTES", 0)
    recs = [json.dumps(r) for r in _records(400, 0)]
    path = tmp_path / "res.json"
    # the braces in the first half, records around the cut point (so that a cut is found)
    path.write_text("[" + recs[0] + ", {" + "{" * 100_000 + "}, " + ", ".join(recs[1:]) + "]")
    size = path.stat().st_size
    assert fastjson.cut_points(path.open("rb"), size, 2)[1:-1]  # a cut was guessed
    caps: list[int] = []
    real = fastjson._columns
    monkeypatch.setattr(fastjson, "_columns", lambda cap, *a: caps.append(cap) or real(cap, *a))
    prefetch.start(str(path), scores=False, threads=2)
    job = prefetch._job
    assert job is not None
    assert job.done.wait(timeout=10)
    assert job.result is None
    assert fastjson.read_columns(path, 17, threads=2) is None
    assert pieces == [False]
    assert caps == [size // fastjson.min_record_bytes(17) + 1]  # the one-piece bound only
