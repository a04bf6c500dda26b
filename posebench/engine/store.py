"""Storage: the prediction cache and the run folder, the one module that writes and reads them.

A run folder::

    run.json                the run's identity (what ``--resume``/``--overwrite`` check)
    results.json            schema-versioned results; ``files`` maps every file below to its SHA-256
    samples.parquet         per-image records (condition, image, metric columns)
    predictions/<cond>.npz  the predictions of each condition, as PoseSet columns
    matches/<cond>.<metric>.npz   OKS match records (what ``posebench compare`` pairs)
    cache/<kk>/<key>.unit   one work unit's predictions, content-addressed (safe to delete)

Every write is atomic (a temporary file renamed into place), so a killed run leaves whole files or
none. Cache entries end with a SHA-256 trailer and name their key and images inside; an entry that
fails any check is discarded with a warning and recomputed. Run-folder files are checked against
the digests ``results.json`` lists when they are read, and ``results.json`` itself against a
schema; every failure is an :class:`~posebench.errors.InputError` naming the file and the field.
Names that come from files (condition keys, metric keys) become paths only through
:func:`run_path`: a strict whitelist ``[A-Za-z0-9._@-]`` and a check that the resolved path stays
inside the folder.
"""

from __future__ import annotations

import datetime as _dt
import errno
import hashlib
import importlib.metadata
import io
import json
import logging
import math
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from posebench.errors import InputError
from posebench.metrics.cocoeval import OksMatches
from posebench.poseset import PoseSet

if TYPE_CHECKING:
    from posebench.engine.plan import WorkUnit

log = logging.getLogger(__name__)

SCHEMA = "posebench.run/1"
RUN_MANIFEST = "run.json"
RUN_MANIFEST_SCHEMA = "posebench.run-manifest/1"
CACHE_SCHEMA = "posebench.unit/1"

#: packages whose versions every results file records (when installed).
RECORDED_PACKAGES = (
    "numpy",
    "scipy",
    "torch",
    "mediapipe",
    "onnxruntime",
    "torchvision",
    "ultralytics",
    "mmpose",
    "opencv-python-headless",
    "pycocotools",
    "xtcocotools",
    "ray",
)

#: what a name read from a file may hold before it becomes part of a path.
SAFE_NAME = re.compile(r"[A-Za-z0-9._@-]{1,200}")


class DiskFullError(InputError):
    """The disk filled up while writing: the run stopped, finished files are whole (exit 2)."""


# ------------------------------------------------------------------------------ names and paths


def check_name(name: object, *, file: str | None = None, field: str | None = None) -> str:
    """``name`` when it is a safe path component (``[A-Za-z0-9._@-]``, not ``.``/``..``, not
    starting with a dot); InputError naming the file and field otherwise."""
    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name) or name.startswith("."):
        raise InputError(
            f"{_quote(name)} is not a safe name (allowed: letters, digits and . _ @ -, "
            "not starting with a dot)",
            file=file,
            field=field,
        )
    return name


def run_path(root: Path, *names: str, file: str | None = None, field: str | None = None) -> Path:
    """``root/names...`` after :func:`check_name` on every part, refusing a result whose resolved
    path leaves ``root`` (a symlink inside the folder, for instance)."""
    p = Path(root)
    for n in names:
        p = p / check_name(n, file=file, field=field)
    base = Path(root).resolve()
    if not p.resolve().is_relative_to(base):
        raise InputError(f"{p} resolves outside {base}", file=file, field=field)
    return p


def _quote(v: object) -> str:
    """repr() with control characters escaped (safe to print to a terminal), shortened."""
    text = repr(v)
    return text if len(text) <= 80 else text[:77] + "..."


# ------------------------------------------------------------------------------ atomic writes


def atomic_write(path: Path, write: Callable[[Any], None], mode: str = "wb") -> None:
    """Call ``write(fileobj)`` on a temporary file beside ``path`` and rename it into place, so a
    reader (or a resumed run) sees the whole file or none of it.

    Raises:
        DiskFullError: the disk (or quota) is full; the temporary file is removed and ``path``
            keeps its previous content (or stays absent).
    """
    path = Path(path)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(
                "no space left on the device; the run stopped here and every finished work "
                "unit is kept: free some space and run the same command again to continue",
                file=str(path),
            ) from e
        raise
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def write_bytes(path: Path, data: bytes) -> None:
    """``data`` written atomically (:func:`atomic_write`)."""
    atomic_write(path, lambda f: f.write(data))


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------------------- checksummed files

_TRAILER_MAGIC = b"PBSUM256"


def seal(body: bytes) -> bytes:
    """``body`` followed by a trailer: 8 magic bytes and the body's SHA-256."""
    return body + _TRAILER_MAGIC + hashlib.sha256(body).digest()


def unseal(data: bytes) -> bytes:
    """Inverse of :func:`seal`; ValueError when the trailer is missing or the digest differs."""
    if len(data) < 40 or data[-40:-32] != _TRAILER_MAGIC:
        raise ValueError("no checksum trailer (truncated or not a posebench file)")
    body = data[:-40]
    if hashlib.sha256(body).digest() != data[-32:]:
        raise ValueError("checksum mismatch (the file was changed or damaged)")
    return body


# --------------------------------------------------------------------------- npz (PoseSet, ...)

POSESET_COLUMNS = tuple(f.name for f in fields(PoseSet) if f.name != "extra")


def _npz_bytes(arrays: dict[str, np.ndarray], *, compressed: bool = False) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)  # type: ignore[arg-type]
    return buf.getvalue()


def _poses_arrays(poses: PoseSet, aux: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {f"aux.{k}": np.asarray(v) for k, v in (aux or {}).items()}
    for name in POSESET_COLUMNS:
        v = getattr(poses, name)
        if v is not None:
            arrays[name] = np.asarray(v)
    for k, v in poses.extra.items():
        arrays[f"extra.{k}"] = np.asarray(v)
    return arrays


def max_npz_bytes() -> int:
    """Largest total uncompressed size of an ``.npz`` posebench reads:
    ``$POSEBENCH_MAX_NPZ_BYTES``, default 4 GiB (a small compressed file could otherwise inflate
    to any size)."""
    try:
        return int(os.environ.get("POSEBENCH_MAX_NPZ_BYTES", 4 << 30))
    except ValueError:
        raise InputError("expected a number of bytes", field="$POSEBENCH_MAX_NPZ_BYTES") from None


def _check_npz_size(source: Path | bytes, file: str) -> None:
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except FileNotFoundError:
        raise InputError("file not found", file=file) from None
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise InputError(f"not a readable .npz ({type(e).__name__}: {e})", file=file) from None
    limit = max_npz_bytes()
    if total > limit:
        raise InputError(
            f"arrays of {total} bytes uncompressed, more than the {limit} allowed "
            "(raise $POSEBENCH_MAX_NPZ_BYTES if this file is trusted)",
            file=file,
        )


def _read_npz(source: Path | bytes, file: str) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` (no pickles, size capped by :func:`max_npz_bytes`);
    InputError naming the file when it is unreadable."""
    _check_npz_size(source, file)
    try:
        with np.load(
            io.BytesIO(source) if isinstance(source, bytes) else source, allow_pickle=False
        ) as z:
            return {n: z[n] for n in z.files}
    except FileNotFoundError:
        raise InputError("file not found", file=file) from None
    except Exception as e:  # zipfile.BadZipFile, ValueError (pickled object arrays), EOFError...
        raise InputError(f"not a readable .npz ({type(e).__name__}: {e})", file=file) from None


def _poses_from_arrays(
    z: dict[str, np.ndarray], file: str
) -> tuple[PoseSet, dict[str, np.ndarray]]:
    for need in ("image_id", "keypoints"):
        if need not in z:
            raise InputError(f"missing array {need!r}", file=file, field=need)
    for name, v in z.items():
        if v.dtype.kind not in "biuf":
            raise InputError(f"array of dtype {v.dtype}, expected numbers", file=file, field=name)
    cols: dict[str, Any] = {n: z[n] for n in POSESET_COLUMNS if n in z}
    kp = cols["keypoints"]
    if kp.ndim != 3 or kp.shape[2] not in (2, 3):
        raise InputError(f"shape {kp.shape}, expected (N, K, 2|3)", file=file, field="keypoints")
    n, k = kp.shape[0], kp.shape[1]
    want = {"image_id": (n,), "score": (n,), "area": (n,), "iscrowd": (n,),
            "num_keypoints": (n,), "ann_id": (n,), "category_id": (n,), "bbox": (n, 4),
            "visibility": (n, k), "keypoint_scores": (n, k)}  # fmt: skip
    for name, shape in want.items():
        if (
            name in cols
            and cols[name].shape != shape
            and not (name not in ("image_id",) and cols[name].size == 0 and n == 0)
        ):
            raise InputError(f"shape {cols[name].shape}, expected {shape}", file=file, field=name)
    cols["image_id"] = cols["image_id"].astype(np.int64)
    cols["extra"] = {n[6:]: z[n] for n in z if n.startswith("extra.")}
    aux = {n[4:]: z[n] for n in z if n.startswith("aux.")}
    for opt in ("visibility", "keypoint_scores"):
        cols.setdefault(opt, None)
    try:
        poses = PoseSet(**cols)
    except (ValueError, TypeError, IndexError) as e:
        raise InputError(f"inconsistent PoseSet columns: {e}", file=file) from None
    for k, v in poses.extra.items():
        if len(v) != len(poses):
            raise InputError(f"{len(v)} rows, {len(poses)} poses", file=file, field=f"extra.{k}")
    return poses, aux


def save_poses(path: Path, poses: PoseSet, aux: dict[str, np.ndarray] | None = None) -> None:
    """Write a PoseSet (and ``aux`` arrays) as an ``.npz`` atomically."""
    write_bytes(path, _npz_bytes(_poses_arrays(poses, aux)))


def load_poses(path: Path) -> PoseSet:
    """Inverse of :func:`save_poses` (the PoseSet)."""
    return load_poses_aux(path)[0]


def load_poses_aux(path: Path) -> tuple[PoseSet, dict[str, np.ndarray]]:
    """Inverse of :func:`save_poses`: the PoseSet and the ``aux`` arrays, checked against the run
    folder's recorded digest when there is one."""
    verify_run_file(Path(path))
    return _poses_from_arrays(_read_npz(Path(path), str(path)), str(path))


def save_matches(path: Path, matches: Sequence[OksMatches]) -> None:
    """OKS match records (one per category) as an ``.npz``."""
    arrays = {
        f"{c}.{f.name}": np.asarray(getattr(m, f.name))
        for c, m in enumerate(matches)
        for f in fields(OksMatches)
    }
    write_bytes(path, _npz_bytes(arrays, compressed=True))


def load_matches(path: Path) -> list[OksMatches]:
    """Inverse of :func:`save_matches`; InputError naming the file and the missing array."""
    path = Path(path)
    verify_run_file(path)
    z = _read_npz(path, str(path))
    cats = sorted({k.split(".")[0] for k in z})
    if not cats or cats != [str(c) for c in range(len(cats))]:
        raise InputError(
            f"expected arrays 0.<field>, 1.<field>...; got {sorted(z)[:5]}", file=str(path)
        )
    out = []
    for c in cats:
        kw = {}
        for f in fields(OksMatches):
            name = f"{c}.{f.name}"
            if name not in z:
                raise InputError("missing array", file=str(path), field=name)
            kw[f.name] = z[name]
        try:
            out.append(OksMatches(**kw))
        except (ValueError, TypeError) as e:
            raise InputError(f"inconsistent match arrays: {e}", file=str(path)) from None
    return out


# ---------------------------------------------------------------------------------- samples


def write_samples(path: Path, rows: dict[str, np.ndarray]) -> None:
    """Per-sample records as parquet (pyarrow); columns of equal length."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({k: np.asarray(v) for k, v in rows.items()})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    write_bytes(path, buf.getvalue())


def read_samples(path: Path) -> dict[str, np.ndarray]:
    """Inverse of :func:`write_samples`; InputError naming the file when it is not readable."""
    import pyarrow.parquet as pq

    path = Path(path)
    verify_run_file(path)
    try:
        t = pq.read_table(path)
        out = {name: t.column(name).to_numpy() for name in t.column_names}
    except FileNotFoundError:
        raise InputError("file not found", file=str(path)) from None
    except Exception as e:  # pyarrow.ArrowInvalid and friends on a truncated or foreign file
        raise InputError(
            f"not a readable parquet file ({type(e).__name__}: {e})", file=str(path)
        ) from None
    return out


# ---------------------------------------------------------------------------- results.json


def package_versions() -> dict[str, str]:
    """Installed versions of :data:`RECORDED_PACKAGES` (absent ones left out)."""
    out = {}
    for name in RECORDED_PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def git_hash() -> str | None:
    """The commit of the posebench source tree, with ``-dirty`` for local changes to tracked files
    (outside ``reports/``, which holds generated runs); None outside a git checkout."""
    root = Path(__file__).resolve().parent.parent.parent
    if not (root / ".git").exists():
        return None
    try:
        h = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--", ".",
             ":(exclude)reports"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{h}-dirty" if dirty else h


def now_iso() -> str:
    """UTC time, ISO 8601, seconds."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


def _clean(v: Any) -> Any:
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python."""
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, Path):
        return str(v)
    return v


def write_results_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``results.json`` atomically (NaN written as null)."""
    text = json.dumps(_clean(payload), indent=2, sort_keys=False) + "\n"
    write_bytes(Path(path), text.encode())


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def read_json(path: Path, *, max_bytes: int = 256 << 20) -> Any:
    """A JSON file: duplicate keys, NaN literals, nesting too deep and oversize files refused with
    an InputError naming the file."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise InputError(f"{size} bytes, more than the {max_bytes} allowed", file=str(p))
        text = p.read_bytes().decode("utf-8")
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)
    except FileNotFoundError:
        raise InputError("file not found", file=str(p)) from None
    except IsADirectoryError:
        raise InputError("is a folder, expected a file", file=str(p)) from None
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text ({e})", file=str(p)) from None
    except RecursionError:
        raise InputError("JSON nested too deep", file=str(p)) from None
    except ValueError as e:  # JSONDecodeError, duplicate keys, NaN
        where = _constant_path(text) if "is not JSON" in str(e) else None
        if where is not None:
            raise InputError(
                f"is {where[1].lower()}, not a number (JSON has no {where[1]})",
                file=str(p),
                field=where[0],
            ) from None
        raise InputError(f"not valid JSON ({e})", file=str(p)) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class _Constant:
    """A NaN/Infinity literal, kept so that the error can name where it stands."""

    def __init__(self, name: str) -> None:
        self.name = name


def _constant_path(text: str) -> tuple[str, str] | None:
    """(dotted path, literal) of the first NaN/Infinity literal of a JSON text, or None."""
    try:
        tree = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_Constant)
    except (ValueError, RecursionError):
        return None
    stack: list[tuple[str, Any]] = [("", tree)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, _Constant):
            return path or "(top level)", node.name
        if isinstance(node, dict):
            stack.extend((f"{path}.{k}" if path else str(k), v) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(node))))
    return None


def read_results_json(path: Path) -> dict[str, Any]:
    """Read a run's ``results.json`` (a run folder or the file), validating its schema.

    Raises:
        InputError: not a run folder, another schema, or a field missing or of the wrong type
            (naming the file and the field, e.g. ``conditions.clean.metrics.oks.values.AP``).
    """
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    if not p.exists():
        raise InputError("no results.json here; is this a posebench run folder?", file=str(p))
    data = read_json(p)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        got = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise InputError(
            f"expected schema {SCHEMA!r}, got {_quote(got)}", file=str(p), field="schema"
        )
    validate_results(data, str(p))
    return data


_NUMBER = (int, float)


def _need(
    d: dict[str, Any], key: str, types: Any, file: str, where: str, *, optional: bool = False
) -> Any:
    """``d[key]`` when it has one of ``types`` (bool is not an int); InputError otherwise."""
    file_or_none = file or None
    name = f"{where}.{key}" if where else key
    if key not in d:
        if optional:
            return None
        raise InputError("missing", file=file_or_none, field=name)
    v = d[key]
    if v is None and optional:
        return None
    if isinstance(v, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        ok = False
    else:
        ok = isinstance(v, types)
    if not ok:
        want = " or ".join(
            _JSON_NAMES.get(t, t.__name__)
            for t in (types if isinstance(types, tuple) else (types,))
        )
        got = _JSON_NAMES.get(type(v), type(v).__name__)
        raise InputError(f"expected {want}, got {got}", file=file_or_none, field=name)
    return v


#: Python types as JSON names them, for error messages.
_JSON_NAMES: dict[Any, str] = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def validate_results(data: dict[str, Any], file: str) -> None:
    """Check the fields of a ``results.json`` that posebench reads (types, ranges, names that
    become paths); InputError naming the file and the field."""
    adapter = _need(data, "adapter", dict, file, "")
    _need(adapter, "name", str, file, "adapter")
    _need(adapter, "args", dict, file, "adapter", optional=True)
    _need(adapter, "signature", str, file, "adapter", optional=True)
    _need(adapter, "info", dict, file, "adapter", optional=True)
    suite = _need(data, "suite", dict, file, "")
    _need(suite, "name", str, file, "suite", optional=True)
    ds = _need(data, "dataset", dict, file, "")
    _need(ds, "name", str, file, "dataset")
    n_img = _need(ds, "images", int, file, "dataset", optional=True)
    if n_img is not None and n_img < 0:
        raise InputError("must be >= 0", file=file, field="dataset.images")
    _need(ds, "limit", int, file, "dataset", optional=True)
    _need(ds, "root", str, file, "dataset", optional=True)
    shard = _need(data, "shard", list, file, "")
    if (
        len(shard) != 2
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in shard)
        or not 0 <= shard[0] < shard[1]
    ):
        raise InputError(
            f"expected [i, n] with 0 <= i < n, got {_quote(shard)}", file=file, field="shard"
        )
    _need(data, "seed", int, file, "", optional=True)
    nb = _need(data, "n_boot", int, file, "", optional=True)
    if nb is not None and nb < 0:
        raise InputError("must be >= 0", file=file, field="n_boot")
    _need(data, "box_source", str, file, "", optional=True)
    _need(data, "headline", str, file, "", optional=True)
    merged = _need(data, "merged_from", list, file, "", optional=True)
    if merged is not None and not all(isinstance(m, str) for m in merged):
        raise InputError("expected a list of folder names", file=file, field="merged_from")
    for opt in ("summary", "timings", "throughput", "files", "plan"):
        _need(data, opt, dict, file, "", optional=True)
    plan = data.get("plan")
    if plan is not None:
        bs = _need(plan, "batch_size", int, file, "plan")
        if bs < 1:
            raise InputError("must be >= 1", file=file, field="plan.batch_size")
        _need(plan, "dataset", dict, file, "plan")
        _need(plan, "image_ids", list, file, "plan")
        _need(plan, "image_ids_sha256", str, file, "plan")
    files = data.get("files") or {}
    for rel, digest in files.items():
        for part in str(rel).split("/"):
            check_name(part, file=file, field=f"files.{rel}")
        if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise InputError("expected a SHA-256 hex digest", file=file, field=f"files.{rel}")
    conds = _need(data, "conditions", dict, file, "")
    for key, c in conds.items():
        rec = f"condition {_quote(key)}"
        try:
            check_name(key, field="conditions")
            _check_condition(c)
        except InputError as e:
            where = f"{rec}, {e.record}" if e.record else rec
            raise InputError(e.detail, file=file, record=where, field=e.field) from None


def _check_condition(c: Any) -> None:
    if not isinstance(c, dict):
        raise InputError(f"expected an object, got {type(c).__name__}")
    _need(c, "kind", str, "", "")
    _need(c, "name", str, "", "")
    sev = _need(c, "severity", int, "", "")
    if not 0 <= sev <= 5:
        raise InputError("expected 0-5", field="severity")
    _need(c, "params", dict, "", "", optional=True)
    metrics = _need(c, "metrics", dict, "", "")
    for mk, block in metrics.items():
        try:
            _check_block(mk, block)
        except InputError as e:
            raise InputError(e.detail, record=f"metric {_quote(mk)}", field=e.field) from None


def _check_block(mk: Any, block: Any) -> None:
    check_name(str(mk).replace("/", "-"), field="metrics")
    if not isinstance(block, dict):
        raise InputError(f"expected an object, got {type(block).__name__}")
    values = _need(block, "values", dict, "", "")
    for vk, v in values.items():
        if v is not None and (isinstance(v, bool) or not isinstance(v, _NUMBER)):
            raise InputError(
                f"expected a number or null, got {type(v).__name__}", field=f"values.{vk}"
            )
    _need(block, "signature", str, "", "")


# ------------------------------------------------------------------------- file digests on read

_MANIFESTS: dict[tuple[str, int, int], dict[str, str]] = {}


def _manifest_of(folder: Path) -> dict[str, str] | None:
    """The ``files`` digests a run folder's results.json lists (cached by mtime), or None."""
    rj = folder / "results.json"
    try:
        st = rj.stat()
    except OSError:
        return None
    key = (str(rj.resolve()), st.st_mtime_ns, st.st_size)
    if key not in _MANIFESTS:
        try:
            data = read_json(rj)
        except InputError:
            return None
        files = data.get("files") if isinstance(data, dict) else None
        _MANIFESTS[key] = files if isinstance(files, dict) else {}
    return _MANIFESTS[key]


def verify_run_file(path: Path) -> None:
    """Compare a run-folder file with the digest its ``results.json`` records (if it records
    one); InputError naming the file on a mismatch."""
    path = Path(path)
    for folder, rel in (
        (path.parent, path.name),
        (path.parent.parent, f"{path.parent.name}/{path.name}"),
    ):
        files = _manifest_of(folder)
        if files is None:
            continue
        want = files.get(rel)
        if want is None:
            return
        if not path.is_file():
            raise InputError("listed in results.json but missing", file=str(path))
        got = sha256_file(path)
        if got != want:
            raise InputError(
                f"checksum mismatch: SHA-256 {got[:12]}..., results.json records {want[:12]}... "
                "(the file was changed or damaged after the run wrote it)",
                file=str(path),
            )
        return


# ------------------------------------------------------------------------------ run identity


def claim_output(
    out: Path, identity: dict[str, Any], *, resume: bool = False, overwrite: bool = False
) -> bool:
    """Make ``out`` this run's folder; True when it already held this run (a resume).

    ``identity`` is what makes a run this run (:func:`posebench.engine.plan.run_identity`). A
    folder holding another run (another ``run.json`` identity, or a ``results.json`` without
    one) is refused unless ``overwrite`` (its run files are removed first); ``resume`` insists
    that the folder holds this very run.
    """
    out = Path(out)
    if resume and overwrite:
        raise InputError("--resume and --overwrite exclude each other", field="--resume")
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", file=str(out), field="--output")
    manifest = out / RUN_MANIFEST
    key = identity["key"]
    held: str | None = None
    if manifest.exists():
        data = read_json(manifest)
        if (
            not isinstance(data, dict)
            or data.get("schema") != RUN_MANIFEST_SCHEMA
            or not isinstance(data.get("key"), str)
        ):
            raise InputError("not a posebench run manifest", file=str(manifest), field="key")
        held = data["key"]
    elif (out / "results.json").exists():
        held = "another run (results.json without run.json)"
    if held == key:
        if overwrite:
            remove_run_files(out)
            held = None
        else:
            log.info("%s holds this run: resuming from its cache", out)
            (out / "results.json").unlink(missing_ok=True)  # rewritten at the end
            _remove_stale_temporaries(out)
            return True
    elif held is not None:
        if not overwrite:
            what = "" if held.startswith("another") else f" (run {held[:12]})"
            raise InputError(
                f"holds another run{what}; this one is {key[:12]} (adapter, suite, dataset, seed "
                "or shard differ). Use another --output, or --overwrite to replace it",
                file=str(out),
                field="--output",
            )
        remove_run_files(out)
    elif resume:
        raise InputError("--resume: no run here to resume", file=str(out), field="--resume")
    out.mkdir(parents=True, exist_ok=True)
    write_bytes(
        manifest,
        (
            json.dumps({"schema": RUN_MANIFEST_SCHEMA, **identity}, indent=2, default=str) + "\n"
        ).encode(),
    )
    return False


def _remove_stale_temporaries(out: Path) -> None:
    """Temporary files a killed run left behind (``.<name>.<random>.tmp`` of
    :func:`atomic_write`) in the run's own folders."""
    for folder in (out, *(out / d for d in RUN_DIRS)):
        if folder.is_dir():
            for p in folder.rglob(".*.tmp"):
                p.unlink(missing_ok=True)


#: what :func:`remove_run_files` removes: the run's own files, nothing else of the folder.
RUN_FILES = ("results.json", "samples.parquet", RUN_MANIFEST)
RUN_DIRS = ("predictions", "matches", "cache")


def remove_run_files(out: Path) -> None:
    """Remove a run's files from ``out`` (:data:`RUN_FILES`, :data:`RUN_DIRS`), nothing else."""
    for name in RUN_DIRS:
        p = out / name
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()
    for name in RUN_FILES:
        (out / name).unlink(missing_ok=True)


# ---------------------------------------------------------------------------------- the cache


@dataclass
class UnitOutput:
    """What one work unit produced.

    Attributes:
        predictions: the unit's poses, image ids within the unit's images.
        covered_rows: (R,) dataset GT rows an occlusion covered, or None.
        covered: (R, K) bool covered keypoints, or None.
        load_seconds, predict_seconds: image decoding + condition time, adapter time.
    """

    predictions: PoseSet
    covered_rows: np.ndarray | None = None
    covered: np.ndarray | None = None
    load_seconds: float = 0.0
    predict_seconds: float = 0.0


class UnitCache:
    """Content-addressed cache of work-unit predictions under ``root`` (``OUTPUT/cache``).

    An entry is ``<root>/<key[:2]>/<key>.unit``: an ``.npz`` of the PoseSet columns, the unit's
    key and image ids, sealed with a SHA-256 trailer (:func:`seal`). Only the driver writes.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", key):
            raise ValueError(f"not a cache key: {key!r}")
        return self.root / key[:2] / f"{key}.unit"

    def put(self, unit: WorkUnit, out: UnitOutput) -> None:
        """Write one unit's output atomically."""
        aux: dict[str, np.ndarray] = {
            "key": np.frombuffer(unit.key.encode(), np.uint8),
            "image_ids": np.asarray(unit.image_ids, np.int64),
            "condition": np.frombuffer(unit.condition.key.encode(), np.uint8),
            "seconds": np.array([out.load_seconds, out.predict_seconds]),
        }
        if out.covered_rows is not None and out.covered is not None:
            aux["covered_rows"] = np.asarray(out.covered_rows, np.int64)
            aux["covered"] = np.asarray(out.covered, bool)
        body = _npz_bytes(_poses_arrays(out.predictions, aux))
        write_bytes(self.path(unit.key), seal(body))

    def get(
        self, unit: WorkUnit, *, num_keypoints: int, dims: int, occlusion: bool, top_down: bool
    ) -> UnitOutput | None:
        """The unit's cached output, or None when absent. An entry that fails a check (trailer,
        checksum, key, image ids, shapes) is deleted with a warning and None returned, so that
        the unit is computed again."""
        p = self.path(unit.key)
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            return None
        try:
            out = self._decode(data, unit, num_keypoints, dims, occlusion, top_down, str(p))
        except Exception as e:  # anything in a damaged or hostile entry: recompute the unit
            log.warning("cache entry %s is damaged (%s): discarded, recomputing", p, e)
            p.unlink(missing_ok=True)
            return None
        return out

    @staticmethod
    def _decode(
        data: bytes,
        unit: WorkUnit,
        k: int,
        d: int,
        occlusion: bool,
        top_down: bool,
        file: str,
    ) -> UnitOutput:
        z = _read_npz(unseal(data), file)
        poses, aux = _poses_from_arrays(z, file)
        if (
            "key" not in aux
            or aux["key"].dtype != np.uint8
            or aux["key"].tobytes() != unit.key.encode()
        ):
            raise ValueError("entry holds another key")
        ids = np.asarray(unit.image_ids, np.int64)
        if "image_ids" not in aux or not np.array_equal(aux["image_ids"], ids):
            raise ValueError("entry holds other images")
        if len(poses):
            if poses.keypoints.shape[1:] != (k, d):
                raise ValueError(f"keypoints {poses.keypoints.shape}, expected (N, {k}, {d})")
            if not np.isin(poses.image_id, ids).all():
                raise ValueError("poses on images outside the unit")
        if top_down and "gt_row" not in poses.extra:
            raise ValueError("top-down entry without gt_row")
        rows = covered = None
        if occlusion:
            if "covered_rows" not in aux or "covered" not in aux:
                raise ValueError("occlusion entry without covered keypoints")
            rows, covered = aux["covered_rows"].astype(np.int64), aux["covered"].astype(bool)
            if rows.ndim != 1 or covered.ndim != 2 or len(rows) != len(covered):
                raise ValueError("covered arrays of mismatched shapes")
        for name, v in poses.extra.items():
            if len(v) != len(poses):
                raise ValueError(f"extra.{name} has {len(v)} rows, {len(poses)} poses")
        sec = aux.get("seconds", np.zeros(2)).reshape(-1)
        if len(sec) != 2:
            raise ValueError("aux.seconds: expected 2 values")
        return UnitOutput(poses, rows, covered, float(sec[0]), float(sec[1]))

    def entries(self) -> list[tuple[str, str, tuple[int, ...]]]:
        """``(key, condition key, image ids)`` of every intact entry, sorted by key (for tools and
        tests; damaged entries are skipped)."""
        out = []
        for p in sorted(self.root.glob("*/*.unit")):
            try:
                z = _read_npz(unseal(p.read_bytes()), str(p))
                out.append((
                    z["aux.key"].tobytes().decode(),
                    z["aux.condition"].tobytes().decode(),
                    tuple(int(i) for i in z["aux.image_ids"]),
                ))  # fmt: skip
            except (ValueError, KeyError, InputError, UnicodeDecodeError):
                continue
        return out


def file_digests(out: Path, rels: Sequence[str]) -> dict[str, str]:
    """``{relative path: SHA-256}`` for files of a run folder (what results.json lists)."""
    return {rel: sha256_file(out / rel) for rel in rels}


# ------------------------------------------------------------------------------ run folders


def write_run(
    out: Path,
    payload: dict[str, Any],
    samples: dict[str, np.ndarray] | None,
    files: Sequence[str],
) -> None:
    """Finish a run folder: ``samples.parquet`` (when there are samples), then ``results.json``
    with ``files`` = the SHA-256 of every listed file (relative paths) and of the samples. The
    results file is written last: a folder with a ``results.json`` is a finished run."""
    rels = list(files)
    if samples is not None:
        write_samples(out / "samples.parquet", samples)
        rels.append("samples.parquet")
    write_results_json(out / "results.json", {**payload, "files": file_digests(out, rels)})
