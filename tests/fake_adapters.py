"""Adapters used by the runner tests through ``module:attr`` (they must be importable by name)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from posebench.adapter import Batch
from posebench.adapters.oracle import JitterAdapter
from posebench.poseset import PoseSet


def kill_once_at_call(calls: int) -> None:
    """SIGKILL this process at call ``$POSEBENCH_TEST_KILL_AT`` (default 2) of the first worker
    that gets there: the first to create ``$POSEBENCH_TEST_KILL_MARKER`` writes its pid into it
    and dies; the others (and the retries) go on."""
    import signal

    marker = os.environ.get("POSEBENCH_TEST_KILL_MARKER")
    if marker and calls == int(os.environ.get("POSEBENCH_TEST_KILL_AT", "2")):
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)


def log_batch(image_ids: Iterable[int], *extra: object) -> None:
    """Append ``pid [extra ...] ids`` to ``$POSEBENCH_TEST_LOG`` (which worker did what)."""
    log = os.environ.get("POSEBENCH_TEST_LOG")
    if log:
        with open(log, "a") as f:
            f.write(
                " ".join([str(os.getpid()), *map(str, extra), *(str(int(i)) for i in image_ids)])
                + "\n"
            )


class CountingJitter(JitterAdapter):
    """Jitter that appends one line per predicted batch to ``$FAKE_ADAPTER_LOG`` and, when
    ``$FAKE_ADAPTER_DIE_AFTER`` is set, kills its own process (os._exit, no cleanup: like
    SIGKILL) on that call. Environment, not arguments, so that the cache key stays the same."""

    def __init__(self, noise: float = 0.05, seed: int = 0) -> None:
        super().__init__(noise=noise, seed=seed, miss=0.1, false_positives=0.5)
        self.log = Path(os.environ["FAKE_ADAPTER_LOG"])
        self.die_after = int(os.environ.get("FAKE_ADAPTER_DIE_AFTER", "0"))
        self.calls = 0

    def predict(self, batch: Batch) -> PoseSet:
        self.calls += 1
        if self.die_after and self.calls == self.die_after:
            os._exit(137)
        with self.log.open("a") as f:
            f.write(" ".join(str(int(i)) for i in batch.image_ids) + "\n")
        return super().predict(batch)

    def _name(self) -> str:
        return "jitter"


class NotAnAdapter:
    """Lacks the predict API."""

    def __init__(self) -> None:
        pass


class PixelHashJitter(JitterAdapter):
    """Jitter whose noise seed also depends on the image's pixels, so predictions change when a
    condition changes the image: identical predictions then prove identical images."""

    def __init__(self) -> None:
        super().__init__(noise=0.05)

    def predict(self, batch: Batch) -> PoseSet:
        import zlib

        parts = []
        for i, im in zip(batch.image_ids, batch.images, strict=True):
            self.seed = zlib.crc32(np.ascontiguousarray(im).tobytes())
            parts.append(super().predict(Batch(image_ids=np.array([i]), images=[im])))
        from posebench.adapter import concat_posesets

        return concat_posesets(parts, self.skeleton.num_keypoints)


class WorkerLoggingJitter(PixelHashJitter):
    """PixelHashJitter (so the condition computed on a worker shows in the output) that appends
    ``pid id id ...`` per finished batch to ``$POSEBENCH_TEST_LOG`` and, when
    ``$POSEBENCH_TEST_KILL_MARKER`` is set, SIGKILLs its own process at its
    ``$POSEBENCH_TEST_KILL_AT``-th call if it is the first process to create the marker file (so
    exactly one worker dies, mid-task, whatever the scheduling). ``POSEBENCH_*`` variables reach
    Ray workers; the cache key does not see them."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def predict(self, batch: Batch) -> PoseSet:

        self.calls += 1
        kill_once_at_call(self.calls)
        out = super().predict(batch)
        log_batch(batch.image_ids)
        return out
