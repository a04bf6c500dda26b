"""One entry point from the runner to every condition: corruption, occlusion, low light.

``apply_condition(image, image_id, condition, seed, dataset)`` returns the transformed image and,
for occlusion, which ground-truth keypoints ended up covered. Deterministic per (image id,
condition, severity, seed): seeds come from :func:`posebench.conditions.rng.condition_seed`,
never from a global generator, so batches, shards and devices give the same bytes.

Explicit tables, no registry: :data:`KINDS` lists what each kind accepts.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from posebench.conditions.rng import condition_seed
from posebench.errors import InputError

Image = npt.NDArray[np.uint8]

#: the seeding protocols of a corruption (``params: {protocol: ...}`` in a suite).
#: ``posebench``: a seed per (image, condition, severity, run seed) — every image gets its own
#: noise. ``advmix``: the COCO-C protocol of Wang et al. 2021 (AdvMix): the same seed for every
#: image (``np.random.seed(1)`` before each call: one noise field per image size), then the
#: corrupted image saved as JPEG at Pillow's default quality 75, as their released images are.
PROTOCOLS = ("posebench", "advmix")

#: where conditions are computed: ``numpy`` (numpy/OpenCV on the CPU, one image at a time) or
#: ``torch`` (the batched torch twins, on the run's ``--device``). The two agree within the
#: tolerances stated in ``corruptions_torch.py`` and ``lowlight_torch.py`` (not byte for byte), so
#: the backend is part of a run's cache key and recorded in results.json.
BACKENDS = ("numpy", "torch")
#: condition kinds with a torch path; the others (occlusion) run on the CPU under either backend.
TORCH_KINDS = ("corruption", "lowlight")


def _corruption_names() -> tuple[str, ...]:
    from posebench.conditions.corruptions import CORRUPTIONS

    return tuple(CORRUPTIONS)


def _occlusion_names() -> tuple[str, ...]:
    from posebench.conditions.occlusion import OCCLUSIONS

    return ("occlusion", *OCCLUSIONS)


def _lowlight_names() -> tuple[str, ...]:
    from posebench.conditions.lowlight import METHODS

    return ("lowlight", *METHODS)


#: kind -> function listing the transform names it accepts.
KINDS = {
    "corruption": _corruption_names,
    "occlusion": _occlusion_names,
    "lowlight": _lowlight_names,
}


def implementation(kind: str, name: str) -> dict[str, Any] | None:
    """Which implementation of a condition runs, where the installed packages or a level table
    decide: frost's texture (the reference photographs of ``imagecorruptions`` or the procedural
    fallback, :func:`posebench.conditions.frost_photos.frost_record`), low light's level set and
    exposure factors (:func:`posebench.conditions.lowlight.level_record`); None for the others.
    A run records it in ``results.json`` and keys its cache with :func:`implementation_tag`."""
    if kind == "corruption" and name == "frost":
        from posebench.conditions.frost_photos import frost_record

        return frost_record()
    if kind == "lowlight":
        from posebench.conditions.lowlight import METHODS, level_record

        method = "physics" if name == "lowlight" else name
        return level_record(method) if method in METHODS else None
    return None


def implementation_tag(kind: str, name: str) -> str | None:
    """File-name-safe id of :func:`implementation` (``frost-photos-<sha>``, ``frost-procedural``,
    ``graded-<hash>``) for the cache key; None where a condition has one implementation."""
    if kind == "corruption" and name == "frost":
        from posebench.conditions.frost_photos import frost_source

        return f"frost-{frost_source()}"
    rec = implementation(kind, name) if kind == "lowlight" else None
    if rec is not None:  # the level set's exposures: a changed table never reuses a cache
        import hashlib
        import json

        blob = json.dumps(rec, sort_keys=True).encode()
        return f"{rec['levels']}-{hashlib.blake2b(blob, digest_size=4).hexdigest()}"
    return None


@dataclass(frozen=True)
class Applied:
    """An image under a condition.

    Attributes:
        image: (H, W, 3) uint8 RGB.
        rows: (M,) dataset GT rows the occluders were placed on, or None (not an occlusion).
        covered: (M, K) bool: labelled keypoints of those persons now under an occluder.
    """

    image: Image
    rows: npt.NDArray[np.int64] | None = None
    covered: npt.NDArray[np.bool_] | None = None


def check_condition(kind: str, name: str, severity: int) -> None:
    """InputError unless ``name`` is a transform of ``kind`` and 1 <= severity <= 5."""
    if kind not in KINDS:
        raise InputError(f"unknown condition kind {kind!r}; known: {', '.join(KINDS)}")
    names = KINDS[kind]()
    if name not in names:
        import difflib

        close = difflib.get_close_matches(name, names, n=2)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise InputError(
            f"unknown {kind} {name!r}{hint} (known: {', '.join(names)})", field="conditions"
        )
    if not 1 <= int(severity) <= 5:
        raise InputError(f"severity {severity} outside 1-5", field="conditions")


def _jpeg75(image: Image) -> Image:
    from PIL import Image as PILImage

    buf = io.BytesIO()
    PILImage.fromarray(image).save(buf, format="JPEG", quality=75)
    buf.seek(0)
    with PILImage.open(buf) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def _protocol(params: dict[str, Any]) -> str:
    """The corruption seeding protocol a condition's ``params`` name (:data:`PROTOCOLS`)."""
    protocol = str(params.get("protocol", "posebench"))
    if protocol not in PROTOCOLS:
        raise InputError(
            f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}",
            field="conditions.params.protocol",
        )
    return protocol


def apply_condition(
    image: Image,
    image_id: int,
    kind: str,
    name: str,
    severity: int,
    seed: int,
    *,
    params: dict[str, Any] | None = None,
    dataset: Any = None,
) -> Applied:
    """The image under one condition.

    Args:
        image: (H, W, 3) uint8 RGB.
        image_id: the dataset image id (part of the seed).
        kind, name, severity: the condition (``corruption``/``occlusion``/``lowlight``).
        seed: the run's condition seed.
        params: ``protocol`` for corruptions (:data:`PROTOCOLS`); ``method`` for low light.
        dataset: the loaded dataset (occlusion reads the image's ground truth and a donor image).
    """
    params = dict(params or {})
    if kind == "corruption":
        from posebench.conditions.corruptions import corrupt

        protocol = _protocol(params)
        if protocol == "advmix":
            out = corrupt(image, name, severity, condition_seed(0, name, severity, 1))
            return Applied(_jpeg75(out))
        return Applied(
            corrupt(image, name, severity, condition_seed(image_id, name, severity, seed))
        )
    if kind == "lowlight":
        from posebench.conditions.lowlight import lowlight

        method = "physics" if name == "lowlight" else name
        s = condition_seed(image_id, f"lowlight/{method}", severity, seed)
        return Applied(lowlight(image, severity, s, image_id, method=method))
    if kind == "occlusion":
        return _occlude(image, image_id, "rectangles" if name == "occlusion" else name,
                        severity, seed, dataset)  # fmt: skip
    raise InputError(f"unknown condition kind {kind!r}", field="conditions")


def apply_batch(
    images: list[Image],
    image_ids: list[int],
    kind: str,
    name: str,
    severity: int,
    seed: int,
    *,
    params: dict[str, Any] | None = None,
    dataset: Any = None,
    backend: str = "numpy",
    device: str = "cpu",
) -> list[Applied]:
    """:func:`apply_condition` over a batch, on the chosen backend.

    Args:
        images: N (H_i, W_i, 3) uint8 RGB images (sizes may differ).
        image_ids: N dataset image ids.
        kind, name, severity, seed, params, dataset: as :func:`apply_condition`.
        backend: a key of :data:`BACKENDS`; kinds outside :data:`TORCH_KINDS` use numpy.
        device: torch device of the ``torch`` backend.

    Returns:
        N :class:`Applied`, in input order. Under ``torch`` the images of equal size go through
        the device together, so each image is the same whatever the batch it came in.
    """
    if backend not in BACKENDS:
        raise InputError(
            f"unknown condition backend {backend!r}; known: {', '.join(BACKENDS)}",
            field="--condition-backend",
        )
    if len(images) != len(image_ids):
        raise InputError(f"{len(images)} images for {len(image_ids)} ids", field="image_ids")
    if backend == "numpy" or kind not in TORCH_KINDS:
        return [
            apply_condition(im, int(i), kind, name, severity, seed, params=params, dataset=dataset)
            for im, i in zip(images, image_ids, strict=True)
        ]
    import torch

    params = dict(params or {})
    if kind == "corruption":
        from posebench.conditions.corruptions_torch import corrupt_batch

        protocol = _protocol(params)
        if protocol == "advmix":
            seeds = [condition_seed(0, name, severity, 1)] * len(images)
        else:
            seeds = [condition_seed(int(i), name, severity, seed) for i in image_ids]

        def run(x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
            return corrupt_batch(x, name, severity, s)

        post = _jpeg75 if protocol == "advmix" else None
    else:  # lowlight
        from posebench.conditions.lowlight import lowlight_seed
        from posebench.conditions.lowlight_torch import lowlight_batch

        method = "physics" if name == "lowlight" else name
        check_condition(kind, name, severity)
        # what apply_condition passes to lowlight(), then what lowlight() keys its draws with
        seeds = [
            lowlight_seed(
                int(i), severity, condition_seed(int(i), f"lowlight/{method}", severity, seed)
            )
            for i in image_ids
        ]

        def run(x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
            return lowlight_batch(x, severity, s, method=method)

        post = None
    out: list[Image | None] = [None] * len(images)
    groups: dict[tuple[int, ...], list[int]] = {}
    for j, im in enumerate(images):
        if not isinstance(im, np.ndarray) or im.ndim != 3 or im.shape[2] != 3:
            raise InputError(
                f"expected an (H, W, 3) image, got shape {getattr(im, 'shape', None)}",
                field="image", record=str(image_ids[j]),
            )  # fmt: skip
        groups.setdefault(im.shape, []).append(j)
    for idx in groups.values():
        x = torch.from_numpy(np.stack([images[j] for j in idx])).to(device).permute(0, 3, 1, 2)
        s = torch.tensor([seeds[j] for j in idx], dtype=torch.int64)
        y = run(x, s).permute(0, 2, 3, 1).cpu().numpy()
        for j, img in zip(idx, y, strict=True):
            img = np.ascontiguousarray(img)
            out[j] = post(img) if post is not None else img
    return [Applied(o) for o in out if o is not None]


def occluded_rows(dataset: Any, image_id: int) -> npt.NDArray[np.int64]:
    """GT rows that get occluders: non-crowd persons with labelled keypoints and a box."""
    rows = np.asarray(dataset.gt_rows(image_id), np.int64)
    gt = dataset.gt
    keep = ~gt.iscrowd[rows] & (gt.num_keypoints[rows] > 0)
    box = gt.bbox[rows]
    keep &= np.isfinite(box).all(axis=1) & (box[:, 2] > 0) & (box[:, 3] > 0)
    return np.asarray(rows[keep], dtype=np.int64)


def donor_id(dataset: Any, image_id: int, seed: int) -> int | None:
    """Another image of the dataset to cut object-like occluders from (deterministic)."""
    ids = np.sort(np.asarray(dataset.images.id, np.int64))
    others = ids[ids != image_id]
    if not len(others):
        return None
    return int(others[condition_seed(image_id, "occlusion/donor", 0, seed) % len(others)])


def _occlude(
    image: Image, image_id: int, name: str, severity: int, seed: int, dataset: Any
) -> Applied:
    from posebench.conditions.occlusion import occlude

    if dataset is None:
        raise InputError("occlusion needs the dataset's ground truth", field="conditions")
    rows = occluded_rows(dataset, image_id)
    gt = dataset.gt
    donor = None
    if name == "objects":
        d = donor_id(dataset, image_id, seed)
        donor = dataset.load_image(d) if d is not None else None
    vis = (
        gt.visibility[rows]
        if gt.visibility is not None
        else np.full(gt.keypoints[rows].shape[:2], 2.0)
    )
    res = occlude(
        image, gt.keypoints[rows, :, :2], vis, gt.bbox[rows], name, severity,
        condition_seed(image_id, f"occlusion/{name}", severity, seed), image_id,
        skeleton=dataset.skeleton, donor=donor,
    )  # fmt: skip
    return Applied(np.asarray(res.image, np.uint8), rows, np.asarray(res.covered, bool))
