"""A columnar on-disk cache of parsed ground truth, for GT files scored again and again.

Parsing and validating a COCO ground-truth JSON costs a few hundred milliseconds; loading its
columns back from an ``.npz`` costs a few. The key is a BLAKE2b digest of the file's contents
(after gunzip) and the posebench version: any change to the bytes misses, even one that keeps
size and modification time (``cp -p``, ``rsync -a``, archives), and the parse is done from the
very bytes that were hashed, so a stale entry can never change a number. Entries are plain
arrays (``allow_pickle=False``): nothing in the cache can run code.

The cache directory is ``$POSEBENCH_CACHE`` or ``~/.cache/posebench``; ``POSEBENCH_CACHE=off``
disables it. Failing to read or write the cache never fails a run: it is only skipped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from posebench import __version__
from posebench.errors import InputError
from posebench.formats.coco import CocoGroundTruth
from posebench.formats.jsonio import read_bytes
from posebench.poseset import ImageTable, PoseSet

log = logging.getLogger(__name__)

_POSE_COLUMNS = (
    "image_id", "keypoints", "visibility", "score", "bbox", "area", "iscrowd",
    "num_keypoints", "ann_id", "category_id",
)  # fmt: skip


def cache_dir() -> Path | None:
    """Where entries live, or None when caching is off."""
    env = os.environ.get("POSEBENCH_CACHE")
    if env is not None and env.strip().lower() in ("off", "0", "false", "no", ""):
        return None
    return Path(env) if env else Path.home() / ".cache" / "posebench"


def content_key(data: bytes) -> str:
    """The cache key of a file's contents: BLAKE2b-128 of the bytes and the posebench version."""
    h = hashlib.blake2b(digest_size=16)
    h.update(data)
    from posebench.formats.rules import RULES_VERSION

    # the reader's version and its input rules: a GT read under other rules is read again
    h.update(f"|posebench {__version__}|rules {RULES_VERSION}".encode())
    return h.hexdigest()


def _key(path: Path, data: bytes | None) -> str | None:
    if data is None:
        try:
            data = read_bytes(path)
        except InputError:
            return None
    return content_key(data)


def load(path: str | Path, *, data: bytes | None = None) -> CocoGroundTruth | None:
    """The cached parse of ``path``, or None on a miss.

    Args:
        path: the ground-truth file (named in the result).
        data: its contents as :func:`posebench.formats.jsonio.read_bytes` returns them, when
            already read (the key is their hash); read from ``path`` otherwise.
    """
    root = cache_dir()
    if root is None:
        return None
    key = _key(Path(path), data)
    if key is None:
        return None
    entry = root / f"gt-{key}.npz"
    if not entry.is_file():
        return None
    try:
        with np.load(entry, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            poses = PoseSet(
                **{c: z[f"pose_{c}"] for c in _POSE_COLUMNS},
                extra={"has_num_keypoints": z["pose_has_num_keypoints"]},
            )
            images = ImageTable(
                id=z["img_id"],
                file=z["img_file"].astype(object),
                width=z["img_width"],
                height=z["img_height"],
                crowd_index=z["img_crowd_index"],
            )
    except Exception as e:  # a damaged entry is a miss, never an error
        log.info("ignoring unreadable cache entry %s: %s", entry, e)
        return None
    categories = tuple((int(c[0]), str(c[1]), tuple(c[2])) for c in meta["categories"])
    return CocoGroundTruth(
        path=str(path),
        images=images,
        poses=poses,
        categories=categories,
        num_joints=int(meta["num_joints"]),
    )


def store(path: str | Path, gt: CocoGroundTruth, *, data: bytes | None = None) -> None:
    """Write the parsed ground truth of ``path`` (atomically; errors are logged, not raised).

    ``data``: the contents ``gt`` was parsed from (hashed for the key); read from ``path`` when
    None, which is right only if the file cannot have changed since it was parsed.
    """
    root = cache_dir()
    if root is None:
        return
    key = _key(Path(path), data)
    if key is None:
        return
    arrays: dict[str, np.ndarray] = {f"pose_{c}": getattr(gt.poses, c) for c in _POSE_COLUMNS}
    arrays["pose_has_num_keypoints"] = gt.poses.extra["has_num_keypoints"]
    arrays.update(
        img_id=gt.images.id,
        img_file=gt.images.file.astype(str),
        img_width=gt.images.width,
        img_height=gt.images.height,
        img_crowd_index=gt.images.crowd_index,
        meta=np.array(json.dumps({"categories": gt.categories, "num_joints": gt.num_joints})),
    )
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=root, suffix=".npz.tmp")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, root / f"gt-{key}.npz")
    except OSError as e:
        log.info("could not write the ground-truth cache in %s: %s", root, e)
