"""Prediction arrays of single-person benchmarks: ``(N, K, D)`` from ``.npy``, ``.npz``, ``.mat``,
``.h5`` or JSON, in the layouts the common evaluation scripts write."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

from posebench.errors import InputError
from posebench.formats.jsonio import json_type, load_json

FloatArray = npt.NDArray[np.float64]

#: Variable names tried, in order, when none is given.
DEFAULT_KEYS = ("preds", "pred", "predictions", "keypoints", "joints", "pose", "poses")


def _orient(a: np.ndarray, k: int, d: int, file: str, key: str) -> FloatArray:
    """(N, K, D) from (N, K, D), (D, K, N) or (K, D, N); (N, K*D) is reshaped. One extra
    component per joint (a confidence or visibility flag after the coordinates, as in LSP's
    3 x 14 x N and LSPET's 14 x 3 x N) is dropped."""
    if a.ndim == 2 and a.shape[1] == k * d:
        a = a.reshape(-1, k, d)
    if a.ndim == 3:
        for dd in (d, d + 1):
            if a.shape[1:] == (k, dd):
                return np.ascontiguousarray(a[:, :, :d], dtype=np.float64)
            if a.shape[:2] == (dd, k):
                return np.ascontiguousarray(np.transpose(a[:d], (2, 1, 0)), dtype=np.float64)
            if a.shape[:2] == (k, dd):
                return np.ascontiguousarray(np.transpose(a[:, :d], (2, 0, 1)), dtype=np.float64)
    raise InputError(
        f"array of shape {a.shape}; expected (N, {k}, {d}), ({d}, {k}, N) or ({k}, {d}, N)",
        file=file,
        field=key,
    )


def _check_json_numbers(obj: object, file: str) -> None:
    """InputError naming the first element that is not a number (``true`` would read as 1.0)."""
    stack: list[tuple[object, str]] = [(obj, "")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, list):
            kinds = set(map(type, node))
            if kinds <= {int, float}:
                continue
            stack.extend((v, f"{where}[{i}]") for i, v in reversed(list(enumerate(node))))
        elif isinstance(node, bool) or not isinstance(node, int | float):
            raise InputError(
                f"expected a number, got {json_type(node)}", file=file, record=where or None
            )


def load_pose_array(
    path: str | Path, *, num_joints: int, dims: int, key: str | None = None
) -> FloatArray:
    """Read predictions as (N, K, D) float64.

    Args:
        path: ``.npy``, ``.npz`` (``key`` or the only array), ``.mat``/``.h5``/``.hdf5``
            (``key`` or the first of DEFAULT_KEYS present), ``.json`` (a nested list, or a list of
            records with a ``keypoints`` field).
        num_joints: K.
        dims: D, 2 for pixels or 3 for 3D.
        key: variable name inside the file.

    Extra trailing values per joint (a confidence after x, y) are dropped. NaN is kept (a
    joint not predicted); infinity is an error.
    """
    p = Path(path)
    file = str(p)
    if not p.is_file():
        raise InputError("no such file", file=file)
    suffix = p.suffix.lower()
    name = key or "(array)"
    if suffix == ".npy":
        try:
            arr = np.load(p, allow_pickle=False)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            raise InputError(f"not a readable .npy array: {e}", file=file) from None
    elif suffix == ".npz":
        try:
            with np.load(p, allow_pickle=False) as z:
                names = list(z.keys())
                if key is None:
                    if len(names) != 1:
                        raise InputError(f"holds {names}; choose one with --pred-key", file=file)
                    key = names[0]
                if key not in names:
                    raise InputError(f"no array {key!r}; the file holds {names}", file=file)
                arr = z[key]
                name = key
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            raise InputError(f"not a readable .npz archive: {e}", file=file) from None
    elif suffix in (".mat", ".h5", ".hdf5"):
        from posebench.formats.mpii import read_h5, read_mat

        keys = (key,) if key else DEFAULT_KEYS
        data = read_mat(p, keys) if suffix == ".mat" else read_h5(p, keys)
        found = [k for k in keys if k in data]
        if not found:
            raise InputError(f"none of the variables {list(keys)} is in the file", file=file)
        name = found[0]
        arr = data[name]
    elif suffix in (".json", ".gz"):
        obj = load_json(p)
        if isinstance(obj, list) and obj and isinstance(obj[0], dict):
            try:
                obj = [r["keypoints"] for r in obj]
            except (KeyError, TypeError):
                raise InputError("records without a 'keypoints' field", file=file) from None
        _check_json_numbers(obj, file)
        try:
            arr = np.asarray(obj, dtype=np.float64)
        except (ValueError, TypeError, RecursionError):
            raise InputError("not a regular nested list of numbers", file=file) from None
    else:
        raise InputError(
            f"unknown prediction format {suffix!r} (.npy .npz .mat .h5 .json)", file=file
        )
    arr = np.asarray(arr)
    if arr.dtype.kind not in "fiu":
        raise InputError(f"expected numbers, got dtype {arr.dtype}", file=file, field=name)
    out = _orient(arr, num_joints, dims, file, name)
    if np.isinf(out).any():
        i = int(np.flatnonzero(np.isinf(out).any(axis=(1, 2)))[0])
        raise InputError("infinite coordinate", file=file, record=f"sample {i}", field=name)
    return out
