"""A generator of hostile and malformed inputs for every subcommand (issue 14).

Each :class:`Case` is a command line, the files it needs (written into a fresh folder; ``{d}`` in
the arguments is that folder) and what must come back: the exit status and the words the message
must hold (file, record, field). ``tests/test_hostile_input.py`` replays them: most in-process
through :func:`posebench.cli.main.main`, the memory-hungry ones in subprocesses under
``resource.setrlimit``. Every replay also checks that stderr holds no Python traceback and that no
control character from the data reached the terminal.

Classes covered: wrong types (booleans, nested keypoints, strings, null), duplicate JSON keys,
duplicate or unknown categories, negative boxes, ``num_keypoints`` beyond the skeleton, empty
results, numbers at the edges (ids of 2**63 and 2**64, NaN, Infinity, deep nesting), broken
encodings (not JSON, not UTF-8, corrupt or bomb gzip), terminal injection (escape sequences in
keys, values and file names), flags out of range, suite files (typos in params, tags, aliases,
NUL, depth), output paths, single-person arrays (NaN 3D joints, booleans), SMPL pickles that
allocate.
"""

from __future__ import annotations

import copy
import gzip
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posebench.samples import sample_path

GT_SAMPLE = "sample:coco-val2017-4"
RES_SAMPLE = "sample:coco-val2017-4-results"
ESC = "\x1b[2J\x1b[31m"  # clear screen, red


@dataclass
class Case:
    """One hostile input: ``argv`` (``{d}`` = the case's folder), files to write there, the exit
    status expected and substrings the stderr message must contain."""

    name: str
    argv: list[str]
    files: dict[str, bytes] = field(default_factory=dict)
    expect: int = 2
    mentions: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)

    def materialise(self, folder: Path) -> list[str]:
        for rel, data in self.files.items():
            p = folder / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        return [a.replace("{d}", str(folder)) for a in self.argv]


def _gt() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(sample_path("coco-val2017-4")).read_text())
    return data


def _results() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(Path(sample_path("coco-val2017-4-results")).read_text())
    return data


def _dump(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def _score_pred(name: str, data: bytes, mentions: tuple[str, ...], **kw: Any) -> Case:
    return Case(
        f"res-{name}",
        ["score", "--gt", GT_SAMPLE, "--pred", "{d}/res.json", "--no-cache"],
        {"res.json": data},
        mentions=("res.json", *mentions),
        **kw,
    )


def _score_gt(name: str, data: bytes, mentions: tuple[str, ...], **kw: Any) -> Case:
    return Case(
        f"gt-{name}",
        ["score", "--gt", "{d}/gt.json", "--pred", RES_SAMPLE, "--no-cache"],
        {"gt.json": data},
        mentions=("gt.json", *mentions),
        **kw,
    )


def _mut_results(fn: Callable[[list[dict[str, Any]]], Any]) -> bytes:
    res = _results()
    out = fn(res)
    return _dump(res if out is None else out)


def _mut_gt(fn: Callable[[dict[str, Any]], Any]) -> bytes:
    gt = _gt()
    fn(gt)
    return _dump(gt)


def _set(i: int, key: str, value: Any) -> Callable[[list[dict[str, Any]]], None]:
    def f(res: list[dict[str, Any]]) -> None:
        res[i][key] = value

    return f


def _set_kp(i: int, j: int, value: Any) -> Callable[[list[dict[str, Any]]], None]:
    def f(res: list[dict[str, Any]]) -> None:
        res[i]["keypoints"][j] = value

    return f


def _dup_key_results(key: str, second: str) -> bytes:
    """results[3] written with ``key`` twice; the first value is the real one."""
    res = _results()
    text = json.dumps(res[3])
    assert text.endswith("}")
    res_text = [json.dumps(r) for r in res]
    extra = f', "{key}": {second}'
    if json.loads(f'"{key}"') not in res[3]:  # a new key: write it twice
        extra *= 2
    res_text[3] = text[:-1] + extra + "}"
    return ("[" + ", ".join(res_text) + "]").encode()


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def gzip_bomb(inflated: int, *, chunk: int = 64 << 20) -> bytes:
    """A multi-member gzip that inflates to ``inflated`` bytes of zeros (a few KiB per 64 MiB)."""
    member = gzip.compress(b"\x00" * min(chunk, inflated), compresslevel=9)
    return member * max(1, inflated // chunk)


def smpl_pickles() -> dict[str, bytes]:
    """Hand-written pickles that an allow-list of numpy/builtins would let allocate."""
    return {
        # bytearray(2**31 - 1): 33 bytes
        "bytearray.pkl": b"\x80\x02c__builtin__\nbytearray\nJ\xff\xff\xff\x7f\x85R.",
        # numpy.ndarray((2**30,)) called directly
        "ndarray.pkl": b"\x80\x02cnumpy\nndarray\nJ\x00\x00\x00\x40\x85\x85R.",
        # _reconstruct(ndarray, (2**30,), 'f8'): an 8 GiB array from a 60-byte file
        "reconstruct.pkl": (
            b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
            b"J\x00\x00\x00\x40\x85C\x02f8\x87R."
        ),
        # _codecs.encode(x, 'hex') doubles at each level: nested, an exponential allocation
        "codecs.pkl": b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x03\x00\x00\x00hex\x86R.",
        # list(bytes): eight bytes of pointers per input byte
        "list.pkl": b"\x80\x02c__builtin__\nlist\nC\x04abcd\x85R.",
    }


def results_cases() -> list[Case]:
    c: list[Case] = []
    add = c.append
    add(
        _score_pred(
            "kp-true", _mut_results(_set_kp(0, 2, True)), ("results[0]", "keypoints", "boolean")
        )
    )
    add(
        _score_pred(
            "score-true", _mut_results(_set(0, "score", True)), ("results[0]", "score", "boolean")
        )
    )
    add(
        _score_pred(
            "cat-true",
            _mut_results(_set(5, "category_id", True)),
            ("results[5]", "category_id", "boolean"),
        )
    )
    add(
        _score_pred(
            "img-true",
            _mut_results(_set(2, "image_id", True)),
            ("results[2]", "image_id", "boolean"),
        )
    )
    add(_score_pred("kp-nested", _mut_results(lambda r: r[0].__setitem__(
        "keypoints", [r[0]["keypoints"][i:i + 3] for i in range(0, 51, 3)])),
        ("results[0]", "keypoints")))  # fmt: skip
    add(_score_pred("kp-singletons", _mut_results(lambda r: r[0].__setitem__(
        "keypoints", [[v] for v in r[0]["keypoints"]])), ("results[0]", "array")))  # fmt: skip
    add(
        _score_pred(
            "bbox-negative",
            _mut_results(_set(1, "bbox", [10, 10, -5, 20])),
            ("results[1]", "bbox", "negative"),
        )
    )
    add(
        _score_pred(
            "bbox-short", _mut_results(_set(1, "bbox", [10, 10, 5])), ("results[1]", "bbox")
        )
    )
    nested_box = [[10], [10], [5], [5]]
    add(
        _score_pred(
            "bbox-nested", _mut_results(_set(1, "bbox", nested_box)), ("results[1]", "bbox")
        )
    )
    add(
        _score_pred(
            "dup-score", _dup_key_results("score", "0.0"), ("results[3]", "score", "duplicate key")
        )
    )
    add(
        _score_pred(
            "dup-keypoints",
            _dup_key_results("keypoints", json.dumps([0.0] * 51)),
            ("results[3]", "keypoints", "duplicate"),
        )
    )
    esc_key = json.dumps(f"x{ESC}")[1:-1]  # JSON-escaped: the parsed key holds ESC
    add(
        _score_pred(
            "dup-key-escape", _dup_key_results(esc_key, "1"), ("results[3]", "duplicate", "\\x1b")
        )
    )
    add(
        _score_pred(
            "unknown-category",
            _mut_results(_set(4, "category_id", 2)),
            ("results[4]", "category_id", "unknown category"),
        )
    )
    add(_score_pred("empty", b"[]", ("no detections",)))
    add(
        _score_pred(
            "unknown-image",
            _mut_results(_set(6, "image_id", 999)),
            ("results[6]", "image_id", "999"),
        )
    )
    for name, v in (
        ("id-2^63", 2**63),
        ("id-2^64", 2**64),
        ("id--2^63-1", -(2**63) - 1),
        ("id-2^100", 2**100),
    ):
        add(_score_pred(name, _mut_results(_set(3, "image_id", v)), ("results[3]", "image_id")))
    add(
        _score_pred(
            "id-float-huge", _mut_results(_set(3, "image_id", 1e300)), ("results[3]", "image_id")
        )
    )
    add(
        _score_pred(
            "id-fraction",
            _mut_results(_set(3, "image_id", 785.5)),
            ("results[3]", "image_id", "integer"),
        )
    )
    add(
        _score_pred(
            "score-nan",
            _mut_results(_set(0, "score", float("nan"))),
            ("results[0]", "score", "finite"),
        )
    )
    add(
        _score_pred(
            "kp-inf",
            _mut_results(_set_kp(0, 4, float("inf"))),
            ("results[0]", "keypoints", "infinity"),
        )
    )
    add(
        _score_pred(
            "score-negative",
            _mut_results(_set(0, "score", -0.5)),
            ("results[0]", "score", "negative"),
        )
    )
    add(
        _score_pred(
            "score-string", _mut_results(_set(0, "score", "0.9")), ("results[0]", "score", "string")
        )
    )
    add(
        _score_pred(
            "kp-null", _mut_results(_set(7, "keypoints", None)), ("results[7]", "keypoints", "null")
        )
    )
    add(
        _score_pred(
            "kp-short",
            _mut_results(_set(7, "keypoints", [1.0] * 50)),
            ("results[7]", "keypoints", "51"),
        )
    )

    def drop_score(r: list[dict[str, Any]]) -> None:
        del r[8]["score"]

    add(_score_pred("missing-score", _mut_results(drop_score), ("results[8]", "score", "missing")))
    add(_score_pred("record-number", _mut_results(lambda r: [5, *r]), ("results[0]", "object")))
    add(_score_pred("top-object", _dump({"results": _results()}), ("top level",)))
    add(_score_pred("deep-100000", _deep(100_000), ("nested deeper",)))
    add(
        _score_pred("deep-in-record", b'[{"image_id": ' + _deep(50_000) + b"}]", ("nested deeper",))
    )
    add(_score_pred("truncated", _mut_results(lambda r: None)[:-40], ("not valid JSON", "line")))
    add(_score_pred("not-utf8", b'[{"image_id": "\xff\xfe"}]', ("UTF-8",)))
    add(_score_pred("nul", b"[\x00]", ("not valid JSON",)))
    add(_score_pred("whitespace", b"   \n ", ("empty",)))
    add(_score_pred("gzip-corrupt", gzip.compress(_mut_results(lambda r: None))[:-30], ("gzip",)))
    add(_score_pred("gzip-bomb", gzip_bomb(256 << 20), ("decompresses to more than",),
                    env={"POSEBENCH_MAX_INFLATE": str(16 << 20)}))  # fmt: skip
    add(
        _score_pred(
            "value-escape", _mut_results(_set(0, "score", f"{ESC}high")), ("results[0]", "score")
        )
    )
    add(Case("path-escape", ["score", "--gt", GT_SAMPLE, "--pred", f"{{d}}/{ESC}res.json"],
             mentions=("no such file", "\\x1b")))  # fmt: skip
    add(
        Case(
            "path-nul",
            ["score", "--gt", GT_SAMPLE, "--pred", "{d}/a\x00b.json"],
            mentions=("null byte",),
        )
    )
    add(Case("pred-is-dir", ["score", "--gt", GT_SAMPLE, "--pred", "{d}"], mentions=("directory",)))
    return c


def gt_cases() -> list[Case]:
    c: list[Case] = []
    add = c.append

    def dup_cat(g: dict[str, Any]) -> None:
        g["categories"].append(copy.deepcopy(g["categories"][0]))

    add(_score_gt("dup-category", _mut_gt(dup_cat), ("categories[1]", "duplicate category")))
    # (case, table, row, key, value, words the message must hold)
    edits: list[tuple[str, str, int, str, Any, tuple[str, ...]]] = [
        ("num-keypoints-18", "annotations", 2, "num_keypoints", 18, ("num_keypoints", "18")),
        ("bbox-negative", "annotations", 1, "bbox", [1, 2, 30, -4], ("bbox", "negative")),
        ("ann-id-2^64", "annotations", 0, "id", 2**64, ("id", "integer")),
        ("image-id-2^63", "images", 0, "id", 2**63, ("id", "64 bits")),
        ("iscrowd-true", "annotations", 0, "iscrowd", True, ("iscrowd", "boolean")),
        ("iscrowd-2", "annotations", 0, "iscrowd", 2, ("iscrowd", "0 or 1")),
        ("cat-true", "annotations", 3, "category_id", True, ("category_id", "boolean")),
        ("width-huge", "images", 1, "width", 2**70, ("width", "integer")),
        ("area-negative", "annotations", 4, "area", -1.0, ("area", "non-negative")),
    ]
    for name, table, row, key, value, words in edits:

        def edit(
            g: dict[str, Any], t: str = table, i: int = row, k: str = key, v: Any = value
        ) -> None:
            g[t][i][k] = v

        add(_score_gt(name, _mut_gt(edit), (f"{table}[{row}]", *words)))

    def kp_true(g: dict[str, Any]) -> None:
        g["annotations"][3]["keypoints"][2] = True

    add(_score_gt("kp-true", _mut_gt(kp_true), ("annotations[3]", "keypoints", "boolean")))
    gt_text = json.dumps(_gt())
    dup = gt_text.replace('"iscrowd": 0', '"iscrowd": 0, "iscrowd": 1', 1)
    add(_score_gt("dup-iscrowd", dup.encode(), ("annotations[0]", "iscrowd", "duplicate key")))
    k = json.dumps(ESC)
    dup_esc = gt_text.replace('"iscrowd": 0', f'"iscrowd": 0, {k}: 1, {k}: 2', 1)
    add(_score_gt("dup-key-escape", dup_esc.encode(), ("duplicate key", "\\x1b")))
    add(_score_gt("deep", b'{"images": ' + _deep(100_000) + b"}", ("nested deeper",)))
    add(
        _score_gt(
            "images-object", _mut_gt(lambda g: g.__setitem__("images", {})), ("images", "array")
        )
    )
    return c


def flag_cases() -> list[Case]:
    score = ["score", "--gt", GT_SAMPLE, "--pred", RES_SAMPLE]
    c = [
        Case("max-dets-0", [*score, "--max-dets", "0"], mentions=("--max-dets",)),
        Case("seed-negative", [*score, "--seed", "-1"], mentions=("--seed",)),
        Case("seed-huge", [*score, "--seed", str(2**64)], mentions=("--seed",)),
        Case("ci-negative", [*score, "--ci", "-5"], mentions=("--ci",)),
        Case("ci-huge", [*score, "--ci", str(2**40)], mentions=("--ci", "1000000")),
        Case(
            "buckets-reversed",
            [*score, "--mode", "crowdpose", "--crowd-buckets", "0.8,0.2"],
            mentions=("--crowd-buckets",),
        ),
        Case("buckets-nan", [*score, "--crowd-buckets", "nan,0.5"], mentions=("--crowd-buckets",)),
        Case("buckets-unknown", [*score, "--crowd-buckets", "papr"], mentions=("--crowd-buckets",)),
        Case("sigmas-nan", [*score, "--sigmas", ",".join(["nan"] * 17)], mentions=("--sigmas",)),
        Case(
            "threshold-negative",
            [*score, "--metric", "pck", "--threshold", "-1"],
            mentions=("--threshold",),
        ),
        Case(
            "threshold-nan",
            [*score, "--metric", "pckh", "--threshold", "nan"],
            mentions=("--threshold",),
        ),
        Case(
            "threshold-escape",
            [*score, "--threshold", f"{ESC}1"],
            mentions=("--threshold", "\\x1b"),
        ),
        Case("breakdown-unknown", [*score, "--breakdown", "crowd,sise"], mentions=("--breakdown",)),
        Case(
            "run-batch-0",
            [
                "run",
                "--adapter",
                "oracle",
                "--suite",
                "demo",
                "--output",
                "{d}/o",
                "--batch-size",
                "0",
            ],
            mentions=("--batch-size",),
        ),
        Case(
            "run-seed-negative",
            ["run", "--adapter", "oracle", "--suite", "demo", "--output", "{d}/o", "--seed", "-3"],
            mentions=("--seed",),
        ),
        Case(
            "run-limit-0",
            ["run", "--adapter", "oracle", "--suite", "demo", "--output", "{d}/o", "--limit", "0"],
            mentions=("--limit",),
        ),
        Case(
            "run-ci-negative",
            ["run", "--adapter", "oracle", "--suite", "demo", "--output", "{d}/o", "--ci", "-1"],
            mentions=("--ci",),
        ),
        Case(
            "run-shard-huge",
            [
                "run",
                "--adapter",
                "oracle",
                "--suite",
                "demo",
                "--output",
                "{d}/o",
                "--shard",
                f"1/{2**70}",
            ],
            mentions=("--shard",),
        ),
        Case(
            "examine-rate",
            ["examine", "--adapter", "oracle", "--output", "{d}/e", "--region-rate", "2"],
            mentions=("--region-rate",),
        ),
        Case(
            "examine-batch-0",
            ["examine", "--adapter", "oracle", "--output", "{d}/e", "--batch-size", "0"],
            mentions=("--batch-size",),
        ),
        Case("report-examples", ["report", "{d}", "--examples", "-2"], mentions=("--examples",)),
        Case("unknown-flag-escape", [*score, f"--{ESC}"], mentions=("unrecognized", "\\x1b")),
    ]
    return c


def output_cases() -> list[Case]:
    return [
        Case(
            "run-output-file",
            ["run", "--adapter", "oracle", "--suite", "demo", "--output", "{d}/taken"],
            {"taken": b"x"},
            mentions=("--output", "file"),
        ),
        Case(
            "run-output-under-file",
            ["run", "--adapter", "oracle", "--suite", "demo", "--output", "{d}/taken/run"],
            {"taken": b"x"},
            mentions=("--output", "is a file"),
        ),
        Case(
            "merge-output-file",
            ["merge", "{d}/a", "--output", "{d}/taken"],
            {"taken": b"x"},
            mentions=("--output",),
        ),
        Case(
            "examine-output-file",
            ["examine", "--adapter", "oracle", "--output", "{d}/taken"],
            {"taken": b"x"},
            mentions=("--output",),
        ),
        Case(
            "demo-output-file",
            ["demo", "--output", "{d}/taken"],
            {"taken": b"x"},
            mentions=("--output",),
        ),
        Case(
            "report-output-dir",
            ["report", "{d}/run", "--output", "{d}"],
            mentions=("--output", "folder"),
        ),
        Case(
            "report-output-under-file",
            ["report", "{d}/run", "--output", "{d}/taken/r.md"],
            {"taken": b"x"},
            mentions=("--output", "is a file"),
        ),
    ]


def _suite(body: str) -> bytes:
    return body.encode()


def suite_cases() -> list[Case]:
    head = "name: hostile\ndataset: coco-sample\nmetrics:\n  - {name: oks}\n"
    c = [
        (
            "params-typo",
            head + "conditions:\n  - {corruption: gaussian_noise, params: {protocl: advmix}}\n",
            ("conditions[0]", "protocl", "did you mean 'protocol'"),
        ),
        (
            "params-value",
            head + "conditions:\n  - {corruption: gaussian_noise, params: {protocol: advmx}}\n",
            ("conditions[0]", "advmx", "did you mean 'advmix'"),
        ),
        (
            "params-occlusion",
            head + "conditions:\n  - {occlusion: rectangles, params: {protocol: advmix}}\n",
            ("conditions[0]", "protocol", "no params"),
        ),
        ("nul", "name: a\x00b\ndataset: coco-sample\n", ("unacceptable character",)),
        ("escape-value", f"name: {ESC}x\ndataset: coco-sample\n", ("s.yaml",)),
        ("deep", "a: " + "[" * 100_000 + "]" * 100_000 + "\n", ("nested too deeply",)),
        ("deep-map", "a:\n" + "".join(" " * i + "b:\n" for i in range(1, 3000)), ("s.yaml",)),
        (
            "python-tag",
            head + "description: !!python/object/apply:os.system ['echo hi']\n",
            ("unsupported YAML tag",),
        ),
        ("aliases", "a: &x [1, 2]\nb: [*x, *x, *x]\n" + head, ("aliases",)),
        ("dup-key", head + "name: other\n", ("duplicate key",)),
        ("seed-negative", head + "seed: -1\n", ("seed",)),
        ("batch-zero", head + "batch_size: 0\n", ("batch_size",)),
        (
            "severity-huge",
            head + f"conditions:\n  - {{corruption: fog, severities: [{2**64}]}}\n",
            ("severities",),
        ),
        ("not-utf8", "name: \xff\n", ("s.yaml",)),
        (
            "many-problems",
            head + "conditions:\n" + "  - {corruption: nope}\n" * 5000,
            # 5000 unknown corruptions + 4999 duplicates of conditions[0], 50 shown
            ("conditions[1]", "and 9949 more problems"),
        ),
    ]
    out = [
        Case("suite-name-escape", ["validate", f"nope{ESC}"], mentions=("unknown suite", "\\x1b")),
        Case(
            "suite-path-escape", ["validate", f"{{d}}/{ESC}.yaml"], mentions=("no such suite file",)
        ),
    ]
    for name, body, mentions in c:
        data = body.encode("latin-1") if name == "not-utf8" else body.encode("utf-8")
        out.append(Case(f"suite-{name}", ["validate", "{d}/s.yaml"], {"s.yaml": data},
                        mentions=mentions))  # fmt: skip
        out.append(Case(f"run-suite-{name}", ["run", "--adapter", "oracle", "--suite",
                                              "{d}/s.yaml", "--output", "{d}/o"],
                        {"s.yaml": data}, mentions=("s.yaml",)))  # fmt: skip
    return out


def single_cases(h36m_gt: str) -> list[Case]:
    import numpy as np

    from posebench.formats.h36m import load_h36m_npz

    gt = load_h36m_npz(h36m_gt).h36m17().joints_3d
    nan = gt.copy()
    nan[3, 5, 1] = np.nan
    buf = io.BytesIO()
    np.save(buf, nan)
    as_list = gt.tolist()
    as_list[1][2][0] = True
    objs = io.BytesIO()
    np.save(objs, np.array([[1, "a"]], dtype=object), allow_pickle=True)
    argv = ["score", "--metric", "mpjpe", "--gt", h36m_gt, "--pred"]
    zipped = io.BytesIO()
    np.savez(zipped, preds=gt)
    mpii = ["score", "--metric", "pckh", "--gt"]
    return [
        Case(
            "npz-truncated",
            [*argv, "{d}/p.npz"],
            {"p.npz": zipped.getvalue()[:300]},
            mentions=("p.npz",),
        ),
        Case(
            "npy-garbage",
            [*argv, "{d}/p.npy"],
            {"p.npy": b"\x93NUMPY\x01\x00garbage"},
            mentions=("p.npy",),
        ),
        Case(
            "mat-garbage",
            [*mpii, "{d}/gt.mat", "--pred", "{d}/gt.mat"],
            {"gt.mat": b"MATLAB 5.0 MAT-file" + b"\x00" * 200},
            mentions=("gt.mat",),
        ),
        Case(
            "h5-garbage",
            [*argv, "{d}/p.h5"],
            {"p.h5": b"\x89HDF\r\n\x1a\n" + b"\xff" * 100},
            mentions=("p.h5",),
        ),
        Case(
            "gt-npz-garbage",
            ["score", "--metric", "mpjpe", "--gt", "{d}/g.npz", "--pred", "{d}/g.npz"],
            {"g.npz": b"PK\x03\x04" + b"\x00" * 64},
            mentions=("g.npz",),
        ),
        Case(
            "mpjpe-nan",
            [*argv, "{d}/p.npy"],
            {"p.npy": buf.getvalue()},
            mentions=("p.npy", "sample 3", "joint 5"),
        ),
        Case(
            "mpjpe-bool",
            [*argv, "{d}/p.json"],
            {"p.json": _dump(as_list)},
            mentions=("p.json", "[1][2][0]", "boolean"),
        ),
        Case(
            "mpjpe-pickled", [*argv, "{d}/p.npy"], {"p.npy": objs.getvalue()}, mentions=("p.npy",)
        ),
        Case(
            "mpjpe-deep",
            [*argv, "{d}/p.json"],
            {"p.json": _deep(100_000)},
            mentions=("p.json", "nested deeper"),
        ),
    ]


def examine_body_cases() -> list[Case]:
    """Cases that need torch (examine): hostile SMPL pickles and a NaN threshold."""
    argv = ["examine", "--adapter", "oracle", "--output", "{d}/e", "--budget", "1", "--size", "64"]
    nan = Case("examine-threshold-nan", [*argv, "--threshold", "nan"], mentions=("--threshold",))
    return [nan] + [
        Case(f"body-{name}", ["examine", "--adapter", "oracle", "--body", f"{{d}}/{name}",
                              "--output", "{d}/e", "--budget", "1"], {name: data},
             mentions=(name, "refused")) for name, data in smpl_pickles().items()
    ]  # fmt: skip


def all_cases(h36m_gt: str) -> list[Case]:
    """Every in-process case (not the body cases, which import torch)."""
    cases = [*results_cases(), *gt_cases(), *flag_cases(), *output_cases(), *suite_cases()]
    cases += single_cases(h36m_gt)
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return cases


__all__ = ["Case", "all_cases", "examine_body_cases", "gzip_bomb", "smpl_pickles"]
