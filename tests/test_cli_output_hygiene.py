"""What the CLI prints is posebench's own: no native log lines from mediapipe's C++ side."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import reference


@pytest.mark.slow
def test_demo_prints_no_native_log_lines(tmp_path: Path) -> None:
    reference(
        "mediapipe", "pip install -e '.[mediapipe]' && pip install mediapipe==0.10.21 --no-deps"
    )
    p = subprocess.run(
        [sys.executable, "-m", "posebench", "demo", "--limit", "2", "--ci", "0",
         "--output", str(tmp_path / "demo"), "--no-progress"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""  # glog / TFLite notes ("Created TensorFlow Lite XNNPACK delegate")
    assert p.stdout.startswith("adapter  mediapipe")
    assert "INFO:" not in p.stdout
