"""A missing optional package gives one line with its install command, never a traceback.

Each case hides a package in a fresh interpreter (``sys.modules[name] = None``, which makes every
``import name`` fail as if it were not installed) and runs the CLI feature that needs it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"

CASES = {
    "examine without torch": (
        "torch", ["examine", "--adapter", "oracle", "--budget", "4", "--size", "64"],
        "pip install 'posebench[examiner]'",
    ),
    "examine without smplx": (  # the SMPL-format bodies (the default anny body needs none)
        "smplx",
        ["examine", "--adapter", "oracle", "--body", "mannequin", "--budget", "4", "--size", "64"],
        "pip install 'posebench[examiner]'",
    ),
    "examine without gymnasium": (
        "gymnasium", ["examine", "--adapter", "oracle", "--budget", "4", "--size", "64"],
        "pip install 'posebench[examiner]'",
    ),
    "torch condition backend without torch": (
        "torch",
        ["run", "--adapter", "oracle", "--suite", "coco-c", "--dataset", "coco-sample",
         "--limit", "1", "--condition-backend", "torch", "--ci", "0"],
        "pip install 'posebench[torch]'",
    ),
    ".h5 predictions without h5py": (
        "h5py",
        ["score", "--metric", "pckh", "--gt", str(DATA / "mpii" / "detections_our_format.mat"),
         "--pred", str(DATA / "mpii" / "newell2016_hg8_valid_preds.h5")],
        "pip install 'posebench[hdf5]'",
    ),
    "html report without jinja2": (
        "jinja2", ["report", str(ROOT / "reports" / "baseline"), "--output", "{tmp}/lb.html"],
        "pip install 'posebench[report]'",
    ),
    "html report without matplotlib": (
        "matplotlib", ["report", str(ROOT / "reports" / "baseline"), "--output", "{tmp}/lb.html"],
        "pip install 'posebench[report]'",
    ),
    "onnx adapter without onnxruntime": (
        "onnxruntime",
        ["run", "--adapter", "onnx", "--adapter-arg", "model=x.onnx", "--suite", "demo"],
        "pip install 'posebench[onnx]'",
    ),
    "mediapipe adapter without mediapipe": (
        "mediapipe", ["demo", "--limit", "1"],
        "pip install 'posebench[mediapipe]' && pip install mediapipe==0.10.21 --no-deps",
    ),
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_missing_package_gives_one_line_with_its_extra(case: str, tmp_path: Path) -> None:
    module, argv, hint = CASES[case]
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if "--output" not in argv and argv[0] in ("run", "examine", "demo"):
        argv += ["--output", str(tmp_path / "out")]
    code = (
        f"import sys\nsys.modules[{module!r}] = None\n"
        "from posebench.cli.main import main\n"
        f"sys.exit(main({argv!r}))\n"
    )
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("posebench: error:")
    assert hint in lines[0]


def test_message_names_package_and_extra() -> None:
    from posebench.extras import missing_package_message

    e = ModuleNotFoundError("import of h5py halted; None in sys.modules", name="h5py")
    assert missing_package_message(e) == (
        "this needs the package 'h5py', which is not installed: pip install 'posebench[hdf5]'"
    )
    msg = missing_package_message(ModuleNotFoundError("x", name="torch"), "examine")
    assert msg is not None
    assert "posebench[examiner]" in msg
    assert missing_package_message(ModuleNotFoundError("x", name="not_a_known_pkg")) is None


def test_all_extra_holds_every_other_extra() -> None:
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    every = set(extras["all"])
    for name in ("torch", "examiner", "report", "hdf5", "onnx", "gl", "mediapipe"):
        missing = set(extras[name]) - every
        assert not missing, f"[all] lacks {name}'s {sorted(missing)}"
