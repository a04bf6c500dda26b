"""The reference frost photographs of ``imagecorruptions``, read from the installed package.

ImageNet-C's frost (Hendrycks & Dietterich 2019), and with it COCO-C's (Wang et al. 2021, through
the ``imagecorruptions`` package), blends the image with a photograph of frosted glass:
``uint8(clip(c0 * x + c1 * crop, 0, 255))``, the photograph picked at random among the first
``n`` of the package's list (``np.random.randint(n)``: 5 of the 6 shipped files in
``imagecorruptions`` 1.1.2, all 6 in the ``imagecorruptions-imaug`` fork), rescaled with OpenCV
``INTER_CUBIC`` to 1.1 times the smallest size that covers the image, and cropped at a random
offset (``randint(0, rescaled - size)`` per axis).

posebench does not ship the photographs (their origin and licence are not stated by the packages
that carry them); when ``imagecorruptions`` or its imaug fork is installed it reads them from the
package's ``frost/`` folder at run time, together with the list and ``n`` from the package's own
``frost`` source (parsed, never imported or executed), and reproduces the reference exactly: the
same photograph, rescaled size and crop give byte-identical output (tested). Only the three
random draws differ: here they come from :mod:`posebench.conditions.rng` (stream ``stream``,
counters 0-2: photograph, row offset, column offset), deterministic per seed on every backend,
each uniform over the same range as the reference's draw. Without the package, frost falls back
to the procedural texture of :mod:`posebench.conditions.textures`; :func:`frost_source` says
which one runs, and a run records it in its cache key and ``results.json``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from posebench.conditions import rng

log = logging.getLogger(__name__)

#: the package folder names that hold the reference (bethgelab's and the imaug fork both install
#: the module ``imagecorruptions``).
MODULE = "imagecorruptions"
_LIST = re.compile(r"def frost\(.*?randint\((\d+)\).*?filename\s*=\s*\[(.*?)\]", re.S)
_FILE = re.compile(r"['\"]\./frost/([A-Za-z0-9_.-]+)['\"]")


@dataclass(frozen=True)
class FrostPhotos:
    """The reference's photographs as found in the installed package.

    Attributes:
        distribution: the installed distribution's name and version (``imagecorruptions-imaug
            1.1.5``).
        folder: the package's ``frost/`` folder.
        files: the file names of the reference's list, in its order.
        used: how many of them the reference draws from (``randint(used)``).
        sha256: hex digest of the used files' bytes, in order (identifies the photographs).
    """

    distribution: str
    folder: Path
    files: tuple[str, ...]
    used: int
    sha256: str

    @property
    def tag(self) -> str:
        """A file-name-safe identifier: ``photos-<12 hex digits>``."""
        return f"photos-{self.sha256[:12]}"

    def describe(self) -> dict[str, object]:
        """JSON-ready record of the texture source (results.json)."""
        return {
            "texture": "photos",
            "distribution": self.distribution,
            "photos": list(self.files[: self.used]),
            "sha256": self.sha256,
        }


def _distribution() -> str:
    try:
        names = importlib.metadata.packages_distributions().get(MODULE) or []
    except Exception:  # a broken metadata folder must not break frost
        names = []
    for name in names:
        try:
            return f"{name} {importlib.metadata.version(name)}"
        except importlib.metadata.PackageNotFoundError:
            continue
    return f"{MODULE} (unknown version)"


@functools.lru_cache(maxsize=1)
def find_frost_photos() -> FrostPhotos | None:
    """The installed reference's frost photographs, or None (package absent or unreadable)."""
    try:
        spec = importlib.util.find_spec(MODULE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return None
    pkg = Path(next(iter(spec.submodule_search_locations)))
    try:
        source = (pkg / "corruptions.py").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    m = _LIST.search(source)
    files = tuple(_FILE.findall(m.group(2))) if m else ()
    used = int(m.group(1)) if m else 0
    if not files or not 1 <= used <= len(files):
        log.warning("%s is installed but its frost() was not recognised; using the procedural "
                    "frost texture", MODULE)  # fmt: skip
        return None
    digest = hashlib.sha256()
    for name in files[:used]:
        path = pkg / "frost" / name
        try:
            digest.update(path.read_bytes())
        except OSError:
            log.warning("%s: frost photograph %s is missing; using the procedural frost texture",
                        MODULE, path)  # fmt: skip
            return None
    return FrostPhotos(_distribution(), pkg / "frost", files, used, digest.hexdigest())


def frost_source() -> str:
    """``photos-<digest>`` when the reference photographs are used, else ``procedural``."""
    photos = find_frost_photos()
    return photos.tag if photos is not None else "procedural"


def frost_record() -> dict[str, object]:
    """What frost runs, for results.json: the photographs' source or ``{"texture":
    "procedural"}``."""
    photos = find_frost_photos()
    return photos.describe() if photos is not None else {"texture": "procedural"}


@functools.lru_cache(maxsize=8)
def photo(index: int) -> np.ndarray:
    """Photograph ``index`` of the reference's list: (h, w, 3) uint8 BGR, read-only."""
    photos = find_frost_photos()
    if photos is None:
        raise RuntimeError("the imagecorruptions frost photographs are not installed")
    path = photos.folder / photos.files[index]
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)  # as the reference: cv2.imread, BGR
    if img is None:
        raise RuntimeError(f"cannot read the frost photograph {path}")
    img.flags.writeable = False
    return img


def rescaled_shape(photo_shape: tuple[int, int], height: int, width: int) -> tuple[int, int]:
    """(rows, cols) of the rescaled photograph for an image of ``height`` x ``width``: the
    reference's scaling-factor cases, float64 arithmetic and ``ceil`` (imagecorruptions)."""
    fh, fw = photo_shape
    scale: float = 1.0
    if fh >= height and fw >= width:
        scale = 1.0
    elif fh < height and fw >= width:
        scale = height / fh
    elif fh >= height and fw < width:
        scale = width / fw
    else:  # both too small: the bigger factor
        scale = float(np.maximum(height / fh, width / fw))
    scale *= 1.1
    return int(np.ceil(fh * scale)), int(np.ceil(fw * scale))


#: rescaled photographs up to this many pixels are cached (8 of them: at most ~100 MB)
_CACHE_PIXELS = 1 << 22


def _resize(index: int, rows: int, cols: int) -> np.ndarray:
    out = cv2.resize(photo(index), dsize=(cols, rows), interpolation=cv2.INTER_CUBIC)
    out.flags.writeable = False
    return np.asarray(out, np.uint8)


_resize_cached = functools.lru_cache(maxsize=8)(_resize)


def _rescaled(index: int, rows: int, cols: int) -> np.ndarray:
    """Photograph ``index`` resized to (rows, cols) with INTER_CUBIC, as the reference does;
    cached for image-sized results (a dataset has few distinct sizes), not for huge ones."""
    if rows * cols <= _CACHE_PIXELS:
        return _resize_cached(index, rows, cols)
    return _resize(index, rows, cols)


def draws(seed: int, stream: int) -> tuple[float, float, float]:
    """The three uniforms (photograph, row offset, column offset) of one frost layer."""
    u = rng.uniform_np(seed, stream, 3).astype(np.float64)
    return float(u[0]), float(u[1]), float(u[2])


def choose(seed: int, stream: int, height: int, width: int) -> tuple[int, int, int]:
    """(photograph index, row offset, column offset) of one frost layer, each uniform over the
    range of the reference's ``np.random.randint`` call."""
    photos = find_frost_photos()
    if photos is None:
        raise RuntimeError("the imagecorruptions frost photographs are not installed")
    u0, u1, u2 = draws(seed, stream)
    index = min(math.floor(u0 * photos.used), photos.used - 1)
    rows, cols = rescaled_shape(photo(index).shape[:2], height, width)
    top = min(math.floor(u1 * (rows - height)), rows - height - 1)
    left = min(math.floor(u2 * (cols - width)), cols - width - 1)
    return index, top, left


def photo_layer(height: int, width: int, index: int, top: int, left: int) -> np.ndarray:
    """The reference's frost crop: photograph ``index`` rescaled for a ``height`` x ``width``
    image, cropped at (``top``, ``left``): (height, width, 3) uint8 RGB."""
    rows, cols = rescaled_shape(photo(index).shape[:2], height, width)
    if not (0 <= top < rows - height + 1 and 0 <= left < cols - width + 1):
        raise ValueError(f"crop ({top}, {left}) outside the {rows}x{cols} rescaled photograph")
    crop = _rescaled(index, rows, cols)[top : top + height, left : left + width]
    return np.ascontiguousarray(crop[..., ::-1])


def frost_layer(height: int, width: int, seed: int, stream: int) -> np.ndarray:
    """The frost crop of one image: (height, width, 3) uint8 RGB (deterministic per seed)."""
    return photo_layer(height, width, *choose(seed, stream, height, width))


@functools.lru_cache(maxsize=8)
def blend_table(c0: float, c1: float) -> np.ndarray:
    """(65536,) uint8: entry ``x * 256 + f`` is ``uint8(clip(c0 * x + c1 * f, 0, 255))``, the
    reference's float64 arithmetic and truncation for image value x and photograph value f."""
    x = np.arange(256, dtype=np.float64)
    out = np.clip(c0 * x[:, None] + c1 * x[None, :], 0, 255).astype(np.uint8).reshape(-1)
    out.flags.writeable = False
    return out


def blend(image: np.ndarray, layer: np.ndarray, c: tuple[float, float]) -> np.ndarray:
    """``uint8(clip(c0 * image + c1 * layer, 0, 255))`` through :func:`blend_table`: image and
    layer (H, W, 3) uint8 -> (H, W, 3) uint8."""
    idx = image.astype(np.uint16)
    idx <<= 8
    idx |= layer
    return blend_table(float(c[0]), float(c[1]))[idx]
