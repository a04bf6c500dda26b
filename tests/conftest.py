"""Shared fixtures: paths to the real test data and the reference evaluators.

Reference tools are test dependencies. When one cannot be imported its tests are skipped with
the reason spelled out, except under ``POSEBENCH_REQUIRE_REFERENCES=1`` (set by ``.ci/run``),
where a missing reference is a failure: CI must never pass a parity test it did not run.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"


def reference(module: str, hint: str) -> ModuleType:
    """Import a reference tool or skip loudly (fail under POSEBENCH_REQUIRE_REFERENCES=1)."""
    try:
        return importlib.import_module(module)
    except Exception as e:  # ImportError, or a binary built against another numpy
        msg = f"REFERENCE TOOL MISSING: {module} could not be imported ({e!r}); install: {hint}"
        if os.environ.get("POSEBENCH_REQUIRE_REFERENCES") == "1":
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg, allow_module_level=True)


PYCOCOTOOLS_HINT = "pip install pycocotools==2.0.11"
XTCOCOTOOLS_HINT = (
    "pip install cython wheel && pip install --no-binary xtcocotools --no-build-isolation "
    "xtcocotools==1.14.3"
)


@contextlib.contextmanager
def quiet() -> Any:
    """Silence the reference tools' prints."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Tests never read or write the user's ~/.cache/posebench."""
    old = os.environ.get("POSEBENCH_CACHE")
    os.environ["POSEBENCH_CACHE"] = str(tmp_path_factory.mktemp("posebench-cache"))
    yield
    if old is None:
        os.environ.pop("POSEBENCH_CACHE", None)
    else:
        os.environ["POSEBENCH_CACHE"] = old


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A local 2-CPU Ray cluster for a Ray test module (``tests/test_run_ray.py``,
    ``tests/test_examine_ray.py``), owned by the test process: subprocess drivers and the
    executors join it by address; token authentication off, as for any throwaway local
    cluster."""
    import ray

    old = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()
    if old is None:
        os.environ.pop("RAY_AUTH_MODE", None)
    else:
        os.environ["RAY_AUTH_MODE"] = old
