"""Check the pip behaviour the documented mediapipe install relies on (README quick start,
DEVELOPERS): ``pip install X --no-deps`` skips pip's dependency-conflict check, so installing
mediapipe last with ``--no-deps`` prints no ``ERROR``; a later install that (re)installs a package
mediapipe depends on prints the (expected) conflict block, one of anything else does not.

Reproduced offline with three tiny local wheels standing in for mediapipe (``needs-old`` requires
``old<1``), numpy 2 (``old==2``) and an unrelated package, in a fresh venv. On demand (about 30 s
of pip start-ups on two cores), not in CI::

    python bench/check_pip_no_deps.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import venv
import zipfile
from pathlib import Path


def _wheel(folder: Path, name: str, version: str, requires: list[str]) -> Path:
    dist = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{dist}-py3-none-any.whl"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {
        f"{name.replace('-', '_')}.py": "",
        f"{dist}.dist-info/METADATA": meta,
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = "".join(f"{k},,\n" for k in files) + f"{dist}.dist-info/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as z:
        for k, v in files.items():
            z.writestr(k, v)
        z.writestr(f"{dist}.dist-info/RECORD", record)
    return path


def main() -> int:
    tmp_path = Path(tempfile.mkdtemp(prefix="pip-no-deps-"))
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _wheel(wheels, "old", "2.0", [])
    _wheel(wheels, "needs-old", "1.0", ["old<1"])  # like mediapipe's numpy<2
    _wheel(wheels, "later", "1.0", [])
    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env)  # pip runs from here with --python (fast)
    py = str(env / "bin" / "python")

    def pip(*args: str) -> str:
        p = subprocess.run(
            [sys.executable, "-m", "pip", "--python", py, "install", "--no-index",
             "--find-links", str(wheels),
             "--disable-pip-version-check", "--no-cache-dir", *args],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if p.returncode != 0:
            raise SystemExit(p.stdout + p.stderr)
        return p.stdout + p.stderr

    pip("old==2.0")  # the environment: numpy 2
    checks = {
        "mediapipe last with --no-deps: no ERROR": "ERROR"
        not in pip("needs-old==1.0", "--no-deps"),
        "a later unrelated install: no ERROR": "ERROR" not in pip("later"),
        "a later install touching mediapipe's dependency: the expected ERROR": (
            "needs-old 1.0 requires old<1" in pip("--force-reinstall", "old==2.0")
        ),
    }
    for what, ok in checks.items():
        print(f"{'ok  ' if ok else 'FAIL'} {what}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
