"""The plan: which work units a run consists of, and the cache key of each.

A work unit is one condition applied to one chunk of images (``batch_size`` images, in sorted-id
order) and predicted by the adapter in one call. Its cache key is content-addressed: a SHA-256
over everything that changes its predictions — the adapter signature (name, arguments, info
record), the dataset's identity (name, ground truth and image table, the detector boxes when
they are used; for occlusion, whose occluders come from other images, the
bytes of every image of the dataset), the condition (kind, name, severity, parameters, backend and
device), the seed, the box source and the unit's image ids with each image's content hash. So a
run into the same folder with other images, another dataset, another adapter or another seed
never reuses a prediction, and a run with the same inputs reuses every one whatever executor
computed it.

``--shard i/n`` keeps the units of chunk ``c`` with ``c % n == i``: every shard is a subset of the
same plan, and ``merge`` checks the shards against it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from posebench.errors import InputError

IntArray = npt.NDArray[np.int64]

#: bump when the meaning of a cache entry changes (invalidates every cache).
CACHE_VERSION = 2


@dataclass(frozen=True)
class Condition:
    """One image condition of a suite: ``clean`` or a named transform at a severity.

    Attributes:
        kind: ``clean``, ``corruption``, ``occlusion``, ``lowlight``.
        name: the transform's name (``clean`` for clean).
        severity: 1-5, 0 for clean.
        params: extra parameters of the transform.
    """

    kind: str
    name: str
    severity: int = 0
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def key(self) -> str:
        """``clean`` or ``name@severity`` (a file-name-safe identifier)."""
        return "clean" if self.kind == "clean" else f"{self.name}@{self.severity}"


def expand_conditions(specs: Sequence[Any]) -> list[Condition]:
    """Suite condition entries (``"clean"`` or mappings with severities) as a flat list."""
    out: list[Condition] = []
    for s in specs:
        if s == "clean" or getattr(s, "kind", None) == "clean":
            out.append(Condition("clean", "clean"))
            continue
        d = s.model_dump() if hasattr(s, "model_dump") else dict(s)
        params = tuple(sorted((d.get("params") or {}).items()))
        for sev in d.get("severities") or [1, 2, 3, 4, 5]:
            out.append(Condition(d["kind"], d["name"], int(sev), params))
    return out


def check_conditions(conditions: Sequence[Condition]) -> None:
    """Fail before predicting anything when a condition name or severity is unknown, or a
    condition's key is not a safe file name."""
    from posebench.conditions.apply import check_condition
    from posebench.engine.store import check_name

    for c in conditions:
        check_name(c.key, field="conditions")
        if c.kind != "clean":
            check_condition(c.kind, c.name, c.severity)


def condition_backend_tag(cond: Condition, backend: str, device: str = "cpu") -> str:
    """The backend a condition's images actually come from (part of the cache key): ``torch`` (on
    its device) only for kinds with a torch path, else ``numpy``."""
    from posebench.conditions.apply import TORCH_KINDS

    if backend == "torch" and cond.kind in TORCH_KINDS:
        return "torch" if device == "cpu" else f"torch-{device}"
    return "numpy"


#: more shards than any dataset has images is a typo (or hostile), not a plan
MAX_SHARDS = 1_000_000


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` (1-based i, as humans count shards) -> (i - 1, n)."""
    try:
        a, b = text.split("/")
        i, n = int(a), int(b)
    except ValueError:
        raise InputError(f"expected i/n such as 2/4, got {text!r}", field="--shard") from None
    if not 1 <= i <= n:
        raise InputError(f"shard {i} of {n}: need 1 <= i <= n", field="--shard")
    if n > MAX_SHARDS:
        raise InputError(f"{n} shards: at most {MAX_SHARDS}", field="--shard")
    return i - 1, n


def chunk_ids(ids: IntArray, batch_size: int) -> list[IntArray]:
    """Sorted ``ids`` cut into chunks of ``batch_size`` (the last one shorter)."""
    s = np.sort(np.asarray(ids, dtype=np.int64))
    return [s[i : i + batch_size] for i in range(0, len(s), batch_size)]


def shard_ids(ids: IntArray, shard: tuple[int, int], batch_size: int = 1) -> IntArray:
    """The image ids of shard ``(i, n)``: the chunks ``c`` of the sorted ids with ``c % n == i``
    (with ``batch_size`` 1: every n-th id from the i-th)."""
    i, n = shard
    chunks = chunk_ids(ids, batch_size)[i::n]
    return np.concatenate(chunks) if chunks else np.zeros(0, np.int64)


def adapter_signature(name: str, args: dict[str, Any], info: dict[str, Any]) -> str:
    """12 hex digits naming (adapter, its arguments, its info record)."""
    blob = json.dumps({"name": name, "args": args, "info": info}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _hash_arrays(h: Any, arrays: dict[str, Any]) -> None:
    for name in sorted(arrays):
        v = arrays[name]
        if v is None:
            h.update(f"{name}:none;".encode())
            continue
        a = np.asarray(v)
        if a.dtype.kind == "O":
            h.update(f"{name}:obj:{a.shape};".encode())
            h.update(json.dumps([str(x) for x in a.ravel()]).encode())
        else:
            a = np.ascontiguousarray(a)
            h.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
            h.update(a.tobytes())


def image_hashes(dataset: Any, ids: Sequence[int]) -> dict[int, str]:
    """``{image id: SHA-256 of the image file's bytes}``."""
    from posebench.engine.store import sha256_file

    out = {}
    for i in ids:
        path = dataset.image_path(int(i))
        try:
            out[int(i)] = sha256_file(path)
        except FileNotFoundError:
            raise InputError(
                f"image file not found (dataset {dataset.name!r})",
                file=str(path),
                record=f"image {int(i)}",
            ) from None
        except OSError as e:
            raise InputError(
                f"cannot read image: {e}", file=str(path), record=f"image {int(i)}"
            ) from None
    return out


def dataset_identity(dataset: Any, box_source: str, hashes: dict[int, str]) -> dict[str, Any]:
    """What the dataset is, by content: name, image count, SHA-256 of the ground truth and image
    table, of all image bytes, and of the detector boxes when they feed the adapter."""
    gt = dataset.gt
    h = hashlib.sha256()
    cols = {f"gt.{n}": getattr(gt, n) for n in (
        "image_id", "keypoints", "visibility", "bbox", "area", "iscrowd", "num_keypoints",
        "ann_id", "category_id")}  # fmt: skip
    cols.update({f"gt.extra.{k}": v for k, v in gt.extra.items()})
    im = dataset.images
    cols.update({"images.id": im.id, "images.file": im.file, "images.width": im.width,
                 "images.height": im.height})  # fmt: skip
    _hash_arrays(h, cols)
    ih = hashlib.sha256()
    for i in sorted(hashes):
        ih.update(f"{i}:{hashes[i]};".encode())
    ident: dict[str, Any] = {
        "name": dataset.name,
        "images": len(dataset.images),
        "gt_sha256": h.hexdigest(),
        "images_sha256": ih.hexdigest(),
    }
    if box_source == "detector":
        det = dataset.detections()
        dh = hashlib.sha256()
        _hash_arrays(dh, {"image_id": det.image_id, "bbox": det.bbox, "score": det.score})
        ident["detections_sha256"] = dh.hexdigest()
    return ident


def _key(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class WorkUnit:
    """One condition on one chunk of images.

    Attributes:
        index: position in the plan (condition-major).
        condition: the condition.
        chunk: the chunk's index among the dataset's chunks (what ``--shard`` selects on).
        image_ids: the chunk's image ids, sorted.
        image_sha256: the SHA-256 of each image file, as the plan saw them.
        key: the 64-hex content-addressed cache key.
    """

    index: int
    condition: Condition
    chunk: int
    image_ids: tuple[int, ...]
    image_sha256: tuple[str, ...]
    key: str


@dataclass(frozen=True)
class Plan:
    """A run's work: the units of this shard and what identifies the run.

    Attributes:
        units: the work units, condition-major, chunks in id order.
        conditions: the suite's conditions.
        ids: (I,) the image ids this shard evaluates, sorted.
        dataset: :func:`dataset_identity`.
        identity: :func:`run_identity` (``key`` is what ``--resume`` compares).
        batch_size, shard, seed, box_source, condition_backend, condition_device: as asked.
    """

    units: list[WorkUnit]
    conditions: list[Condition]
    ids: IntArray
    dataset: dict[str, Any]
    identity: dict[str, Any]
    batch_size: int
    shard: tuple[int, int]
    seed: int
    box_source: str
    condition_backend: str
    condition_device: str
    chunks: int = 0

    def units_of(self, cond: Condition) -> list[WorkUnit]:
        """The units of one condition, in id order."""
        return [u for u in self.units if u.condition == cond]


def run_identity(
    *,
    adapter_sig: str,
    suite: dict[str, Any],
    dataset: dict[str, Any],
    seed: int,
    box_source: str,
    condition_backend: str,
    condition_device: str,
    shard: tuple[int, int],
    batch_size: int,
) -> dict[str, Any]:
    """What makes a run this run (adapter, suite, dataset content, seed, boxes, backend, shard):
    a mapping with its SHA-256 as ``key``. Bootstrap replicates and progress are not part of it."""
    ident: dict[str, Any] = {
        "adapter_signature": adapter_sig,
        "suite": suite,
        "dataset": dataset,
        "seed": seed,
        "box_source": box_source,
        "condition_backend": condition_backend,
        "condition_device": condition_device,
        "shard": list(shard),
        "batch_size": batch_size if shard[1] > 1 else None,
    }
    return {"key": _key(ident), **ident}


def make_plan(
    dataset: Any,
    conditions: Sequence[Condition],
    *,
    adapter_sig: str,
    suite: dict[str, Any],
    seed: int,
    box_source: str,
    batch_size: int,
    shard: tuple[int, int] = (0, 1),
    condition_backend: str = "numpy",
    condition_device: str = "cpu",
) -> Plan:
    """The work units of a run (this shard's), each with its content-addressed cache key.

    Args:
        dataset: the loaded dataset (ids, images, ground truth).
        conditions: the suite's conditions.
        adapter_sig: :func:`adapter_signature`.
        suite: the suite as JSON (part of the run identity, not of unit keys).
        seed: the condition seed.
        box_source: ``gt``, ``detector`` or ``none`` (bottom-up).
        batch_size: images per unit.
        shard: ``(i, n)``: keep chunks ``c % n == i``.

    Raises:
        InputError: a bad batch size, or a shard without any chunk.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"must be at least 1, got {batch_size!r}", field="--batch-size")
    all_ids = np.sort(np.asarray(dataset.images.id, np.int64))
    chunks = chunk_ids(all_ids, batch_size)
    i, n = shard
    mine = [c for c in range(len(chunks)) if c % n == i]
    if not mine:
        raise InputError(
            f"shard {i + 1} of {n} has no images: {len(all_ids)} images make {len(chunks)} chunks "
            f"of --batch-size {batch_size}; use fewer shards or a smaller batch size",
            field="--shard",
        )
    ids = np.concatenate([chunks[c] for c in mine])
    hashes = image_hashes(dataset, all_ids.tolist())
    ds_ident = dataset_identity(dataset, box_source, hashes)
    # a unit depends on its own images' bytes; occlusion also on the others' (its donors)
    ds_key = _key({k: v for k, v in ds_ident.items() if k != "images_sha256"})
    all_images = ds_ident["images_sha256"]
    units: list[WorkUnit] = []
    from posebench.conditions.apply import implementation_tag

    for cond in conditions:
        backend = condition_backend_tag(cond, condition_backend, condition_device)
        cond_id = {
            "kind": cond.kind,
            "name": cond.name,
            "severity": cond.severity,
            "params": [list(p) for p in cond.params],
            "backend": backend,
        }
        impl = implementation_tag(cond.kind, cond.name)
        if impl is not None:  # which frost texture, which low-light level set
            cond_id["implementation"] = impl
        if cond.kind == "occlusion":
            cond_id["donor_images"] = all_images
        for c in mine:
            chunk = [int(x) for x in chunks[c]]
            sha = tuple(hashes[x] for x in chunk)
            key = _key({
                "v": CACHE_VERSION, "adapter": adapter_sig, "dataset": ds_key, "condition": cond_id,
                "seed": seed, "boxes": box_source, "images": list(zip(chunk, sha, strict=True)),
            })  # fmt: skip
            units.append(WorkUnit(len(units), cond, c, tuple(chunk), sha, key))
    identity = run_identity(
        adapter_sig=adapter_sig,
        suite=suite,
        dataset=ds_ident,
        seed=seed,
        box_source=box_source,
        condition_backend=condition_backend,
        condition_device=condition_device if condition_backend == "torch" else "cpu",
        shard=shard,
        batch_size=batch_size,
    )
    return Plan(
        units=units,
        conditions=list(conditions),
        ids=ids,
        dataset=ds_ident,
        identity=identity,
        batch_size=batch_size,
        shard=shard,
        seed=seed,
        box_source=box_source,
        condition_backend=condition_backend,
        condition_device=condition_device,
        chunks=len(chunks),
    )


def ids_sha256(ids: Sequence[int]) -> str:
    """SHA-256 of a sorted id list (what a shard records to prove its images)."""
    return hashlib.sha256(
        np.ascontiguousarray(np.sort(np.asarray(ids, np.int64))).tobytes()
    ).hexdigest()
