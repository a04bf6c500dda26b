"""The input rules of ``posebench.formats.rules``, replayed through every reader path.

The COCO results reader has four ways to turn bytes into columns: simdjson's parse tree, two
processes on two halves (simdjson each), orjson with whole-column checks, and the record-by-record
validator. Each fast path must either produce exactly the validator's columns or hand the file
over (return None); only the validator may raise, and it names file, record and field. A faster
reader added later joins ``FAST_PATHS`` and must pass the same corpus (``tests/hostile.py``).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from posebench.errors import InputError
from posebench.formats import coco, rules
from posebench.formats.jsonio import count_strings, may_have_duplicate_keys, parse_json
from posebench.samples import sample_path
from tests.hostile import Case, gt_cases, results_cases

K = 17
GT = coco.read_gt(sample_path("coco-val2017-4"))


def _simdjson(data: bytes) -> Any:
    return coco._columns_simdjson(data, K)


def _parallel(data: bytes) -> Any:
    return coco._parse_parallel(data, K)


def _orjson_columns(data: bytes) -> Any:
    try:
        records = parse_json(data, file="x", duplicate_keys="unchecked")
    except InputError:
        return None
    if not isinstance(records, list):
        return None
    return coco._columns_fast(records, K, data.count(b'"'), coco._no_literals(data))


#: name -> reader that returns columns or None (never raises on bad data, never accepts it)
FAST_PATHS: dict[str, Callable[[bytes], Any]] = {
    "simdjson": _simdjson,
    "parallel": _parallel,
    "orjson": _orjson_columns,
}


def _file_cases(cases: list[Case], name: str) -> list[Case]:
    return [c for c in cases if name in c.files and not c.env]


RESULTS = _file_cases(results_cases(), "res.json")
#: rules checked against the ground truth after parsing, or on the bytes before it
CROSS_CHECKED = {"res-unknown-category", "res-unknown-image", "res-gzip-corrupt"}
#: the files a parse path must hand over (empty input is the caller's no-detections rule)
PARSE = [c for c in RESULTS if c.name not in CROSS_CHECKED and c.files["res.json"].strip(b" \n[]")]
GTS = _file_cases(gt_cases(), "gt.json")


def _raw(case: Case, name: str) -> bytes:
    data = case.files[name]
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


@pytest.mark.parametrize("path", list(FAST_PATHS))
@pytest.mark.parametrize("case", PARSE, ids=[c.name for c in PARSE])
def test_fast_paths_hand_over_every_bad_results_file(case: Case, path: str) -> None:
    data = _raw(case, "res.json")
    try:
        cols = FAST_PATHS[path](data)
    except Exception as e:  # pragma: no cover - a fast path must not raise
        pytest.fail(f"{path} raised {e!r} on {case.name}")
    if cols is not None:
        # the file was understood: then it must hold the same numbers as the validator sees
        with pytest.raises(InputError):
            coco._strict_results(json.loads(data), K, "x")  # unreachable if the path was right
        pytest.fail(f"{path} accepted {case.name}")


@pytest.mark.parametrize("case", RESULTS, ids=[c.name for c in RESULTS])
def test_results_reader_names_record_and_field(case: Case, tmp_path: Path) -> None:
    p = tmp_path / "res.json"
    p.write_bytes(case.files["res.json"])
    with pytest.raises(InputError) as e:
        coco.read_results(p, GT)
    for word in case.mentions:
        assert word in str(e.value), (case.name, str(e.value))


@pytest.mark.parametrize("case", GTS, ids=[c.name for c in GTS])
def test_gt_reader_names_record_and_field(case: Case, tmp_path: Path) -> None:
    p = tmp_path / "gt.json"
    p.write_bytes(case.files["gt.json"])
    with pytest.raises(InputError) as e:
        coco.read_gt(p)
    for word in case.mentions:
        assert word in str(e.value), (case.name, str(e.value))
    try:
        data = json.loads(case.files["gt.json"])
    except RecursionError:
        return
    if "duplicate key" in case.mentions:
        return  # decided by the parse (orjson keeps one value), before any column path
    if isinstance(data, dict) and isinstance(data.get("annotations"), list):
        ids = np.array([im["id"] for im in data["images"] if isinstance(im.get("id"), int)])
        cats = {c["id"] for c in data["categories"] if isinstance(c.get("id"), int)}
        try:
            fast = coco._gt_columns_fast(data["annotations"], K, ids, cats)
        except (OverflowError, TypeError, ValueError):
            fast = None
        if case.name.startswith("gt-ann") or "annotations" in case.mentions[1]:
            assert fast is None, case.name  # the fast GT path hands every bad record over


def test_clean_files_take_the_fast_paths() -> None:
    """The sample results are regular: every fast path reads them, and all agree."""
    data = Path(sample_path("coco-val2017-4-results")).read_bytes()
    ref = coco._strict_results(json.loads(data), K, "x")
    for name, path in FAST_PATHS.items():
        cols = path(data)
        if name == "parallel" and cols is None:
            continue  # one core, or no fork: the parallel path declines by design
        assert cols is not None, name
        for key in ("image_id", "category_id", "score", "keypoints", "bbox"):
            np.testing.assert_array_equal(cols[key], ref[key], err_msg=f"{name}:{key}")


def test_duplicate_key_check_is_exact_and_cheap_to_rule_out() -> None:
    """``may_have_duplicate_keys`` is False exactly when the parser kept every key."""
    ok = b'{"a": [1, 2.5, "x"], "b": {"c": null, "d": "e"}}'
    assert count_strings(json.loads(ok)) == ok.count(b'"') // 2
    assert not may_have_duplicate_keys(ok, json.loads(ok))
    dup = b'{"a": 1, "b": {"c": 2, "c": 3}}'
    assert may_have_duplicate_keys(dup, json.loads(dup))
    with pytest.raises(InputError, match=r"b: field 'c': duplicate key"):
        parse_json(dup, file="f.json")
    # escaped quotes and backslashes are cut out before counting
    for esc in (b'{"a\\"b": 1, "c": "\\\\"}', b'{"\\u00e9\\\\": "x\\"y"}'):
        assert not may_have_duplicate_keys(esc, json.loads(esc)), esc
    esc_dup = b'{"a\\"b": 1, "a\\"b": 2}'
    assert may_have_duplicate_keys(esc_dup, json.loads(esc_dup))
    with pytest.raises(InputError, match="duplicate key"):
        parse_json(esc_dup, file="f.json")


def test_every_tolerable_kind_is_documented_and_used() -> None:
    src = Path(coco.__file__).read_text() + Path(parse_json.__code__.co_filename).read_text()
    doc = rules.__doc__ or ""
    for kind in rules.TOLERABLE:
        assert f"``{kind}``" in doc, kind
        assert f'"{kind}"' in src, kind
    with pytest.raises(ValueError, match="not a tolerable kind"):
        rules.tolerate("image-id", InputError("x"))


def test_results_without_ground_truth_infer_k_only_from_a_flat_list(tmp_path: Path) -> None:
    """The results-file adapter reads without GT: K comes from results[0], which must be flat."""
    res = json.loads(Path(sample_path("coco-val2017-4-results")).read_text())
    p = tmp_path / "r.json"
    p.write_text(json.dumps(res))
    assert coco.read_results(p).num_joints == 17
    res[0]["keypoints"] = [res[0]["keypoints"][i : i + 3] for i in range(0, 51, 3)]
    p.write_text(json.dumps(res))
    with pytest.raises(InputError, match=r"results\[0\]: field 'keypoints': expected a flat"):
        coco.read_results(p)
