"""Hostile input replayed through the CLI (issue 14): a clear error or the right number, never a
traceback, never a control character echoed, never a number from data that was not understood.

The corpus comes from ``tests/hostile.py``. Most cases run in-process through
``posebench.cli.main.main`` (one subprocess costs about a second here); the cases about memory
and exit codes run as real subprocesses under ``resource.setrlimit``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from posebench.cli.main import main
from tests.conftest import DATA
from tests.hostile import ESC, Case, all_cases, examine_body_cases, gzip_bomb, smpl_pickles

H36M = str(DATA / "h36m/test_h36m_body3d.npz")
CASES = all_cases(H36M)
#: control characters other than newline must never reach the terminal
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _replay(
    case: Case, folder: Path, capsys: pytest.CaptureFixture[str], mp: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    argv = case.materialise(folder)
    for k, v in case.env.items():
        mp.setenv(k, v)
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse's usage errors
        rc = int(e.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


def _check(case: Case, rc: int, out: str, err: str) -> None:
    assert rc == case.expect, f"{case.name}: exit {rc}, stderr: {err!r}"
    assert "Traceback" not in err, f"{case.name}: {err}"
    assert not CONTROL.search(err), f"{case.name}: control character echoed: {err!r}"
    assert not CONTROL.search(out), f"{case.name}: control character on stdout: {out!r}"
    said = err + out if case.argv[0] == "validate" else err  # validate reports on stdout
    for word in case.mentions:
        assert word in said, f"{case.name}: {word!r} not in {said!r}"
    if case.expect == 2:
        assert "internal error" not in err, f"{case.name}: {err}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_case(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rc, out, err = _replay(case, tmp_path, capsys, monkeypatch)
    _check(case, rc, out, err)


@pytest.mark.parametrize("case", examine_body_cases(), ids=[c.name for c in examine_body_cases()])
def test_hostile_examine_cases(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("torch", reason="examine needs torch")
    rc, out, err = _replay(case, tmp_path, capsys, monkeypatch)
    _check(case, rc, out, err)
    assert not (tmp_path / "e" / "results.json").exists()


def test_smpl_pickle_budget_counts_every_allocation(tmp_path: Path) -> None:
    """Each hostile pickle is refused by the reader before it allocates; a real one loads."""
    import pickle

    import numpy as np

    from posebench.errors import InputError
    from posebench.examiner.smpl_files import read_smpl_pickle

    for name, data in smpl_pickles().items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(InputError, match="refused") as e:
            read_smpl_pickle(tmp_path / name)
        assert e.value.file == str(tmp_path / name)
    good = {"a": np.arange(6.0).reshape(2, 3), "b": np.ones((4,), np.uint8)}
    (tmp_path / "ok.pkl").write_bytes(pickle.dumps(good, protocol=2))
    np.testing.assert_array_equal(read_smpl_pickle(tmp_path / "ok.pkl")["a"], good["a"])
    # the budget is a real limit: a 4 KiB array is refused under a 1 KiB budget (its bytes come
    # from the file, but copying them into a bytearray is counted)
    (tmp_path / "ba.pkl").write_bytes(pickle.dumps({"x": bytearray(4096)}, protocol=2))
    with pytest.raises(InputError, match="4096 bytes"):
        read_smpl_pickle(tmp_path / "ba.pkl", max_bytes=1024)
    assert read_smpl_pickle(tmp_path / "ba.pkl")["x"] == bytearray(4096)


def test_messages_are_clipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A megabyte-long duplicate key does not become a megabyte-long error line."""
    key = "k" * 1_000_000
    (tmp_path / "res.json").write_text(f'[{{"{key}": 1, "{key}": 2}}]')
    argv = ["score", "--gt", "sample:coco-val2017-4", "--pred", str(tmp_path / "res.json")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "duplicate key" in err
    assert "more characters" in err
    assert len(err) < 6000


# ----------------------------------------------------------------------------- --lenient


def _score_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["score", "--gt", "sample:coco-val2017-4", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_lenient_reads_what_pycocotools_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Under --lenient each tolerable problem gives one warning and the number pycocotools
    gives on the same file (reference: pycocotools 2.0.11 on these exact bytes)."""
    from tests.conftest import PYCOCOTOOLS_HINT, quiet, reference

    coco_mod = reference("pycocotools.coco", PYCOCOTOOLS_HINT)
    cocoeval_mod = reference("pycocotools.cocoeval", PYCOCOTOOLS_HINT)
    from posebench.samples import sample_path

    res = json.loads(Path(sample_path("coco-val2017-4-results")).read_text())
    texts = [json.dumps(r) for r in res]
    best = max(range(len(res)), key=lambda i: res[i]["score"])
    zeros = json.dumps([0.0] * 51)
    texts[best] = texts[best][:-1] + f', "keypoints": {zeros}}}'  # duplicate: the last wins
    texts[5] = texts[5].replace('"category_id": 1', '"category_id": 7')  # unknown category
    texts[0] = texts[0].replace('"category_id": 1', '"category_id": true')  # True == 1
    (tmp_path / "res.json").write_text("[" + ", ".join(texts) + "]")

    caplog.set_level("WARNING")
    out = _score_json(capsys, "--pred", str(tmp_path / "res.json"), "--lenient", "--no-cache")
    kinds = [r.getMessage() for r in caplog.records if "--lenient" in r.getMessage()]
    assert len(kinds) == 3, kinds  # duplicate-key, boolean, unknown-category: one each
    assert out["signature"].split("|").count("input:lenient") == 1

    with quiet():
        gt = coco_mod.COCO(str(sample_path("coco-val2017-4")))
        dt = gt.loadRes(str(tmp_path / "res.json"))
        ev = cocoeval_mod.COCOeval(gt, dt, "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert out["metrics"]["AP"] == pytest.approx(ev.stats[0], abs=1e-12)
    assert out["metrics"]["AR"] == pytest.approx(ev.stats[5], abs=1e-12)
    # and the duplicate really changed the number (the file is not scored as if it were fine)
    clean = _score_json(capsys, "--pred", "sample:coco-val2017-4-results")
    assert clean["metrics"]["AP"] > out["metrics"]["AP"] + 0.01

    # strict (the default) refuses the same file, naming the first problem
    assert (
        main(["score", "--gt", "sample:coco-val2017-4", "--pred", str(tmp_path / "res.json")]) == 2
    )
    assert f"results[{best}]: field 'keypoints': duplicate key" in capsys.readouterr().err


def test_lenient_ground_truth_matches_pycocotools(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """GT-side tolerable problems under --lenient: the number pycocotools 2.0.11 gives."""
    from tests.conftest import PYCOCOTOOLS_HINT, quiet, reference

    coco_mod = reference("pycocotools.coco", PYCOCOTOOLS_HINT)
    cocoeval_mod = reference("pycocotools.cocoeval", PYCOCOTOOLS_HINT)
    from posebench.samples import sample_path

    gt = json.loads(Path(sample_path("coco-val2017-4")).read_text())
    gt["categories"].append(dict(gt["categories"][0]))  # duplicate category id
    gt["annotations"][2]["num_keypoints"] = 18  # more than the skeleton: not ignored
    gt["annotations"][5]["bbox"][2] *= -1  # negative width
    gt["annotations"][7]["iscrowd"] = False  # a boolean where 0/1 is expected
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    caplog.set_level("WARNING")
    argv = ["score", "--gt", str(tmp_path / "gt.json"), "--pred", _sample_res(), "--lenient"]
    assert main([*argv, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    warned = [r.getMessage() for r in caplog.records if "--lenient" in r.getMessage()]
    assert len(warned) == 4, warned
    with quiet():
        ref_gt = coco_mod.COCO(str(tmp_path / "gt.json"))
        ev = cocoeval_mod.COCOeval(ref_gt, ref_gt.loadRes(_sample_res()), "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    for i, k in enumerate(("AP", "AP50", "AP75", "APm", "APl", "AR")):
        assert out["metrics"][k] == pytest.approx(ev.stats[i], abs=1e-12), k
    assert main(argv[:-1]) == 2  # strict by default
    assert "categories[1]" in capsys.readouterr().err


def test_lenient_empty_results_score_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "res.json").write_text("[]")
    out = _score_json(capsys, "--pred", str(tmp_path / "res.json"), "--lenient")
    assert out["metrics"]["AP"] == 0.0
    assert out["counts"]["predictions"] == 0


# ----------------------------------------------------------------------------- exit 3


def test_internal_error_is_one_line_exit_3(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from posebench.formats import coco

    def boom(*a: object, **k: object) -> None:
        raise RuntimeError(f"boom {ESC}")

    monkeypatch.setattr(coco, "read_results", boom)
    monkeypatch.setattr(coco, "read_gt_and_results", boom)
    argv = ["score", "--gt", "sample:coco-val2017-4", "--pred", "sample:coco-val2017-4-results"]
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert "RuntimeError: boom \\x1b[2J" in err
    assert "posebench -v" in err
    assert main(["-v", *argv]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "boom" in err
    assert not CONTROL.search(err)


def test_report_on_stdout_is_escaped(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A Markdown report printed to the terminal cannot carry escape sequences from run folders."""
    from posebench.report import examiner, leaderboard, markdown

    monkeypatch.setattr(leaderboard, "load_runs", lambda runs: [])
    monkeypatch.setattr(leaderboard, "build_tables", lambda runs, reported: [])
    monkeypatch.setattr(leaderboard, "separation_notes", lambda tables: [])
    monkeypatch.setattr(examiner, "sections", lambda runs: [])
    monkeypatch.setattr(markdown, "render", lambda *a, **k: f"| model |\n| {ESC}evil |\n")
    assert main(["report", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "\\x1b[2J" in out
    assert not CONTROL.search(out)


# ----------------------------------------------------------------------------- subprocesses


def _sample_res() -> str:
    from posebench.samples import sample_path

    return str(sample_path("coco-val2017-4-results"))


def _limit_memory(limit: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _posebench(
    argv: list[str], *, memory: int, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "posebench", *argv],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
        preexec_fn=lambda: _limit_memory(memory),
    )


@pytest.mark.slow
def test_gzip_bomb_under_a_memory_limit(tmp_path: Path) -> None:
    """A 4 GiB bomb (a few hundred KiB on disk) against a process limited to 1.5 GiB of address
    space, with a 256 MiB inflate cap: refused after 256 MiB, exit 2, no MemoryError."""
    pytest.importorskip("resource")
    (tmp_path / "bomb.json.gz").write_bytes(gzip_bomb(4 << 30))
    assert (tmp_path / "bomb.json.gz").stat().st_size < 8 << 20
    p = _posebench(
        ["score", "--gt", "sample:coco-val2017-4", "--pred", str(tmp_path / "bomb.json.gz")],
        memory=3 << 30,
        env={"POSEBENCH_MAX_INFLATE": str(256 << 20)},
    )
    assert p.returncode == 2, p.stderr
    assert "bomb.json.gz" in p.stderr
    assert "decompresses to more than 268435456 bytes" in p.stderr
    assert "Traceback" not in p.stderr


@pytest.mark.slow
def test_exit_codes_and_no_traceback_in_real_processes(tmp_path: Path) -> None:
    """Exit 2 for bad input (argparse and our own checks), the message escaped, in a real
    process with a memory limit: deep JSON is refused before any recursive parser sees it."""
    pytest.importorskip("resource")
    (tmp_path / "deep.json").write_bytes(b"[" * 1_000_000 + b"]" * 1_000_000)
    (tmp_path / "bytearray.pkl").write_bytes(smpl_pickles()["bytearray.pkl"])
    cases = [
        (["score", "--gt", "sample:coco-val2017-4", "--pred", str(tmp_path / "deep.json")],
         "nested deeper"),
        (["score", "--gt", "sample:coco-val2017-4", "--pred", "x.json", "--seed", "-1"],
         "--seed"),
        (["score", "--gt", "sample:coco-val2017-4", "--pred", f"{ESC}.json"], "\\x1b"),
        (["-c", "from posebench.examiner.smpl_files import read_smpl_pickle; "
          f"read_smpl_pickle({str(tmp_path / 'bytearray.pkl')!r})"], "refused"),
    ]  # fmt: skip
    # a warning that quotes data (under --lenient) goes through the same escaping
    texts = [json.dumps(r) for r in json.loads(Path(_sample_res()).read_text())]
    key = json.dumps(f"k{ESC}")
    texts[2] = texts[2][:-1] + f", {key}: 1, {key}: 2}}"
    (tmp_path / "dup.json").write_text("[" + ", ".join(texts) + "]")
    cases.append(
        (["score", "--gt", "sample:coco-val2017-4", "--pred", str(tmp_path / "dup.json"),
          "--lenient"], "\\x1b")
    )  # fmt: skip
    p = _posebench(cases[-1][0], memory=3 << 30)
    assert p.returncode == 0, p.stderr
    assert "results[2]" in p.stderr
    assert "\\x1b" in p.stderr
    assert ESC not in p.stderr
    for argv, word in cases[:3]:
        p = _posebench(argv, memory=3 << 30)
        assert p.returncode == 2, (argv, p.stderr)
        assert word in p.stderr
        assert "Traceback" not in p.stderr
        assert ESC not in p.stderr
    # the pickle bomb: a 33-byte file must not get 2 GiB in a process limited to 1 GiB
    p = subprocess.run(
        [sys.executable, *cases[3][0]],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: _limit_memory(1 << 30),
    )
    assert "refused" in p.stderr
    assert "MemoryError" not in p.stderr


@pytest.mark.slow
def test_closed_stdout_is_quiet() -> None:
    """``posebench ... | head -c0``: exit 141 as after SIGPIPE, nothing on stderr."""
    p = subprocess.Popen(
        [sys.executable, "-m", "posebench", "ls", "metrics", "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert p.stdout is not None
    assert p.stderr is not None
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 141
    assert err == ""
