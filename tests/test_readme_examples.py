"""Every ``posebench`` command shown in the README's fenced ``sh`` blocks and in the ``--help``
examples is checked: the ones that need no external files run (outputs redirected into a temporary
folder) and must exit 0; the others must parse, name adapter arguments the adapter takes, valid
tolerances and existing built-in suites. A command is runnable when every file it reads exists in
the repository (or is an embedded ``sample:``); :data:`NOT_RUN` lists, with the reason, runnable
ones too slow for CI.
"""

from __future__ import annotations

import argparse
import inspect
import re
import shlex
from pathlib import Path

import pytest

from posebench.cli.main import build_parser, main
from tests.conftest import reference

ROOT = Path(__file__).resolve().parent.parent

#: commands that could run here but are too slow for CI (minutes of mediapipe inference).
NOT_RUN = {
    "posebench demo --suite coco-c --limit 8": "95 corrupted conditions x 8 images of mediapipe",
    "posebench examine --adapter mediapipe --budget 600 --size 160 --threshold auto --output "
    "runs/mp-exam": "600 mediapipe queries on rendered bodies",
    "posebench examine --adapter mediapipe --body mannequin --budget 2000 --output runs/mp-exam": (
        "2000 mediapipe queries on rendered bodies"
    ),
    "posebench examine --adapter jitter --adapter-arg noise=0.02 --space pose,camera --budget 500 "
    "--size 128 --output runs/jitter-exam --threshold auto": "30 s of rendering on two cores",
    "posebench examine --adapter mediapipe --body mannequin --budget 1024 --size 128 --agents 4 "
    "--rollouts 8 --batch-size 8 --torch-threads 1 --output runs/mp-exam-ray --executor ray "
    "--workers 2": "a Ray cluster and 1024 mediapipe queries (tests/test_examine_ray.py runs Ray)",
}

OUTPUT_OPTIONS = ("--output", "--per-image")
FILE_SUFFIX = re.compile(
    r"\.(json|gz|yaml|yml|mat|npy|npz|h5|onnx|pt|pth|pkl|csv|parquet|md|html|xml|txt|py)$"
)


def _commands(text: str) -> list[str]:
    """``posebench ...`` commands in shell text: continuation lines joined, comments dropped,
    ``a | b | c`` alternatives of the last word expanded."""
    joined = re.sub(r"\\\n\s*", " ", text)
    out = []
    for line in joined.splitlines():
        line = re.sub(r"\s{2,}\([^)]*\)\s*$", "", line.strip())  # a trailing "  (remark)"
        if not line.startswith("posebench "):
            continue
        words = shlex.split(line, comments=True)
        if "|" in words:
            i = words.index("|")
            alts = [w for w in words[i - 1 :] if w != "|"]
            out += [shlex.join([*words[: i - 1], a]) for a in alts]
        else:
            out.append(shlex.join(words))
    return out


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:sh|bash)\n(.*?)```", text, flags=re.S)
    return [c for b in blocks for c in _commands(b)]


def help_commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    out = []
    for p in dict.fromkeys(sub.choices.values()):
        out += _commands(p.epilog or "")
    return out


ALL = list(dict.fromkeys(readme_commands() + help_commands()))


def _reads(words: list[str]) -> list[str]:
    """Arguments that name files or folders the command reads."""
    reads = []
    for i, w in enumerate(words[1:], 1):
        prev = words[i - 1]
        if w.startswith("-") or prev in OUTPUT_OPTIONS or w.startswith("sample:"):
            continue
        if "=" in w and prev in ("--adapter-arg", "--max-drop", "--max-change"):
            w = w.split("=", 1)[1]
            if not ("/" in w or FILE_SUFFIX.search(w)):
                continue
        if "/" in w or "~" in w or "*" in w or FILE_SUFFIX.search(w) or prev == "--data-root":
            reads.append(w)
        elif words[1] in ("compare", "report", "merge", "validate") and not prev.startswith("-"):
            reads.append(w)  # positional run folders / suite files
    return reads


def runnable(cmd: str) -> bool:
    words = shlex.split(cmd)
    if "..." in words or cmd in NOT_RUN:
        return False
    return all((ROOT / w).exists() for w in _reads(words))


def test_examples_are_found() -> None:
    assert "posebench demo" in ALL
    assert any(c.startswith("posebench compare") for c in ALL)
    assert sum(runnable(c) for c in ALL) >= 8, [c for c in ALL if runnable(c)]


def _same_run(cmd: str) -> str:
    """The command with its output names blanked: examples differing only there run once."""
    words = shlex.split(cmd)
    return shlex.join(
        [("OUT" if i and words[i - 1] in OUTPUT_OPTIONS else w) for i, w in enumerate(words)]
    )


RUN = list({_same_run(c): c for c in ALL if runnable(c)}.values())


@pytest.mark.slow
@pytest.mark.parametrize("cmd", RUN)
def test_runnable_example_runs(
    cmd: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    words = shlex.split(cmd)[1:]
    if words[0] == "demo" or "mediapipe" in words:
        reference(
            "mediapipe", "pip install -e '.[mediapipe]' && pip install mediapipe==0.10.21 --no-deps"
        )
    for i, w in enumerate(words[:-1]):
        if w in OUTPUT_OPTIONS:  # write into the temporary folder, keeping the file name
            words[i + 1] = str(tmp_path / Path(words[i + 1]).name)
    if words[0] == "demo" and "--output" not in words:
        words += ["--output", str(tmp_path / "demo")]
    if "--resume" in words:  # the example continues the run of the command before it
        assert main([w for w in words if w != "--resume"]) == 0, capsys.readouterr().err
    code = main(words)
    out = capsys.readouterr()
    assert code == 0, out.err


def _check_adapter_args(words: list[str]) -> None:
    from posebench.adapters import adapter_factory

    if "--adapter" not in words:
        return
    name = words[words.index("--adapter") + 1]
    keys = [words[i + 1].split("=")[0] for i, w in enumerate(words) if w == "--adapter-arg"]
    if name in ("X",) or not keys:
        return
    try:
        factory = adapter_factory(name)
    except Exception as e:  # an optional package missing here: the names cannot be checked
        pytest.skip(f"adapter {name!r} not importable here ({e})")
    params = inspect.signature(factory).parameters
    for k in keys:
        assert k in params, f"adapter {name!r} takes no argument {k!r} ({', '.join(params)})"


@pytest.mark.parametrize("cmd", [c for c in ALL if not runnable(c) and "..." not in c])
def test_other_examples_parse_and_name_real_arguments(cmd: str) -> None:
    from posebench.compare import parse_tolerances
    from posebench.suite import builtin_suites

    words = shlex.split(cmd)[1:]
    try:
        build_parser().parse_args(words)
    except SystemExit as e:
        pytest.fail(f"does not parse (exit {e.code}): {cmd}")
    _check_adapter_args(words)
    for flag in ("--max-drop", "--max-change"):
        vals = [words[i + 1] for i, w in enumerate(words) if w == flag]
        parse_tolerances(vals, flag)
    if "--suite" in words:
        suite = words[words.index("--suite") + 1]
        assert suite in builtin_suites() or suite.endswith(".yaml"), suite
