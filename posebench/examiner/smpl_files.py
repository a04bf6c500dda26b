"""SMPL model files: a restricted unpickler for the official ``.pkl`` files and an ``.npz`` loader.

The official SMPL ``.pkl`` files are Python 2 pickles holding numpy arrays, a
``scipy.sparse.csc_matrix`` (``J_regressor``) and chumpy objects (``shapedirs`` and sometimes
``v_template``/``posedirs``). chumpy does not install on current Python, and unpickling runs
whatever the file names, so :class:`RestrictedUnpickler` resolves only an explicit allow-list:
numpy's array reconstruction functions, a few harmless builtins, the sparse matrix classes and the
chumpy classes, the last two mapped to stand-ins that only record their pickled state. Anything
else raises :class:`~posebench.errors.InputError` naming the file and the refused class.

chumpy pickles a ``Ch`` as ``copyreg.__newobj__(Ch)`` plus the instance ``__dict__`` (minus its
weak-reference caches, see ``Ch.__getstate__`` in chumpy/ch.py); the value lives under key
``'x'``. scipy pickles a sparse matrix as its ``__dict__`` (``data``, ``indices``, ``indptr``,
``_shape``). The stand-ins turn both into dense numpy arrays without importing either library.
"""

from __future__ import annotations

import codecs
import io
import pickle
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from posebench.errors import InputError

__all__ = [
    "SMPL_KEYS",
    "RestrictedUnpickler",
    "load_smpl_arrays",
    "read_smpl_pickle",
    "validate_smpl_arrays",
]

#: Keys smplx.SMPL reads from a model file (``body_models.py``), all converted to numpy arrays.
SMPL_KEYS = ("v_template", "f", "J_regressor", "weights", "kintree_table", "shapedirs", "posedirs")

NUM_VERTICES = 6890
NUM_JOINTS = 24


class _ChumpyStandIn:
    """Stand-in for any chumpy class: keeps the pickled state, computes nothing."""

    chumpy_class = "chumpy.ch.Ch"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _SparseStandIn:
    """Stand-in for a scipy.sparse csc/csr matrix: keeps the pickled state."""

    layout = "csc"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _CscStandIn(_SparseStandIn):
    layout = "csc"


class _CsrStandIn(_SparseStandIn):
    layout = "csr"


def _numpy_allowed() -> dict[tuple[str, str], Any]:
    try:  # numpy >= 2
        from numpy._core import multiarray, numeric
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray, numeric  # type: ignore[no-redef]
    allowed: dict[tuple[str, str], Any] = {}
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(mod, "_reconstruct")] = multiarray._reconstruct
        allowed[(mod, "scalar")] = multiarray.scalar
    for mod in ("numpy.core.numeric", "numpy._core.numeric"):
        allowed[(mod, "_frombuffer")] = numeric._frombuffer  # type: ignore[attr-defined]
    allowed[("numpy", "ndarray")] = np.ndarray
    allowed[("numpy", "dtype")] = np.dtype
    return allowed


def _builtins_allowed() -> dict[tuple[str, str], Any]:
    import copyreg

    allowed: dict[tuple[str, str], Any] = {}
    for mod in ("builtins", "__builtin__"):
        for name, obj in {
            "object": object,
            "set": set,
            "frozenset": frozenset,
            "list": list,
            "dict": dict,
            "tuple": tuple,
            "complex": complex,
            "bytearray": bytearray,
        }.items():
            allowed[(mod, name)] = obj
    # Protocol 0/1 pickles rebuild objects through copyreg._reconstructor(cls, object, state); the
    # class argument itself comes through find_class, so it is restricted too.
    allowed[("copy_reg", "_reconstructor")] = copyreg._reconstructor  # type: ignore[attr-defined]
    allowed[("copyreg", "_reconstructor")] = copyreg._reconstructor  # type: ignore[attr-defined]
    # Python 3 writes bytes at protocol <= 2 as _codecs.encode(text, "latin1") (numpy buffers).
    allowed[("_codecs", "encode")] = codecs.encode
    return allowed


def _sparse_allowed() -> dict[tuple[str, str], Any]:
    allowed: dict[tuple[str, str], Any] = {}
    for layout, cls in (("csc", _CscStandIn), ("csr", _CsrStandIn)):
        for mod in (f"scipy.sparse.{layout}", f"scipy.sparse._{layout}", "scipy.sparse"):
            allowed[(mod, f"{layout}_matrix")] = cls
            allowed[(mod, f"{layout}_array")] = cls
    return allowed


def _chumpy_class(module: str, name: str) -> type[_ChumpyStandIn]:
    return type(name, (_ChumpyStandIn,), {"chumpy_class": f"{module}.{name}"})


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only numpy arrays, sparse matrices and chumpy objects.

    ``file_name`` is used in error messages only.
    """

    _ALLOWED: ClassVar[dict[tuple[str, str], Any]] = {}

    def __init__(self, stream: io.BufferedIOBase | io.BytesIO, file_name: str) -> None:
        super().__init__(stream, encoding="latin1")
        self.file_name = file_name
        if not RestrictedUnpickler._ALLOWED:
            RestrictedUnpickler._ALLOWED = {
                **_numpy_allowed(),
                **_builtins_allowed(),
                **_sparse_allowed(),
            }

    def find_class(self, module: str, name: str) -> Any:
        found = self._ALLOWED.get((module, name))
        if found is not None:
            return found
        if module == "chumpy" or module.startswith("chumpy."):
            return _chumpy_class(module, name)
        raise InputError(
            f"refused to unpickle {module}.{name}: an SMPL model file may hold only numpy "
            "arrays, scipy sparse matrices and chumpy arrays",
            file=self.file_name,
        )


def _to_array(value: Any, file: str, key: str) -> Any:
    """Turn stand-ins into numpy arrays (recursively in dicts/lists); other values unchanged."""
    if isinstance(value, _ChumpyStandIn):
        state = value.state
        if isinstance(state, dict) and "x" in state:
            return _to_array(state["x"], file, key)
        raise InputError(
            f"chumpy object {value.chumpy_class} stores no value (no 'x' in its state); "
            "only plain chumpy arrays (chumpy.ch.Ch) can be read without chumpy",
            file=file,
            field=key,
        )
    if isinstance(value, _SparseStandIn):
        return _sparse_to_dense(value, file, key)
    if isinstance(value, dict):
        return {k: _to_array(v, file, f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.dtype == object:
        return value
    return value


def _sparse_to_dense(value: _SparseStandIn, file: str, key: str) -> npt.NDArray[np.float64]:
    state = value.state
    if not isinstance(state, dict):
        raise InputError("sparse matrix without a state dict", file=file, field=key)
    try:
        data = np.asarray(state["data"], dtype=np.float64)
        indices = np.asarray(state["indices"], dtype=np.int64)
        indptr = np.asarray(state["indptr"], dtype=np.int64)
        raw_shape = state["_shape"] if "_shape" in state else state["shape"]
        shape = tuple(int(s) for s in raw_shape)
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"unreadable sparse matrix ({e!r})", file=file, field=key) from None
    if len(shape) != 2:
        raise InputError(f"sparse matrix of shape {shape}", file=file, field=key)
    major = shape[1] if value.layout == "csc" else shape[0]
    if indptr.shape != (major + 1,) or indices.shape != data.shape or indptr[-1] != data.size:
        raise InputError("inconsistent sparse matrix arrays", file=file, field=key)
    outer = np.repeat(np.arange(major), np.diff(indptr))
    if (indices < 0).any() or (indices >= shape[0 if value.layout == "csc" else 1]).any():
        raise InputError("sparse matrix index out of range", file=file, field=key)
    dense = np.zeros(shape, dtype=np.float64)
    if value.layout == "csc":
        np.add.at(dense, (indices, outer), data)
    else:
        np.add.at(dense, (outer, indices), data)
    return dense


def read_smpl_pickle(path: str | Path) -> dict[str, Any]:
    """Read an official SMPL ``.pkl`` without chumpy: a dict of numpy arrays (and plain values)."""
    file = str(path)
    with open(path, "rb") as fh:
        try:
            obj = RestrictedUnpickler(fh, file).load()
        except InputError:
            raise
        except Exception as e:
            raise InputError(f"not a readable SMPL pickle ({e!r})", file=file) from None
    if not isinstance(obj, dict):
        raise InputError(f"expected a dict of arrays, got {type(obj).__name__}", file=file)
    return {str(k): _to_array(v, file, str(k)) for k, v in obj.items()}


def validate_smpl_arrays(raw: dict[str, Any], file: str) -> dict[str, npt.NDArray[Any]]:
    """Check and convert the arrays smplx reads; InputError names the file and the key.

    Returns float32 ``v_template (V, 3)``, ``J_regressor (24, V)``, ``weights (V, 24)``,
    ``shapedirs (V, 3, S)``, ``posedirs (V, 3, 207)``, int64 ``f (F, 3)`` and
    ``kintree_table (2, 24)``.
    """
    missing = [k for k in SMPL_KEYS if k not in raw]
    if missing:
        raise InputError(f"missing SMPL arrays {missing}", file=file)
    out: dict[str, npt.NDArray[Any]] = {}
    for key in SMPL_KEYS:
        try:
            arr = np.asarray(raw[key])
        except Exception as e:
            raise InputError(f"not an array ({e!r})", file=file, field=key) from None
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)):
            raise InputError(
                f"expected a numeric array, got dtype {arr.dtype}", file=file, field=key
            )
        out[key] = arr
    v = out["v_template"].shape[0] if out["v_template"].ndim == 2 else -1
    expected = {
        "v_template": (NUM_VERTICES, 3),
        "J_regressor": (NUM_JOINTS, NUM_VERTICES),
        "weights": (NUM_VERTICES, NUM_JOINTS),
        "kintree_table": (2, NUM_JOINTS),
        "posedirs": (NUM_VERTICES, 3, (NUM_JOINTS - 1) * 9),
    }
    for key, shape in expected.items():
        if out[key].shape != shape:
            raise InputError(
                f"expected shape {shape}, got {out[key].shape} (SMPL has {NUM_VERTICES} vertices "
                f"and {NUM_JOINTS} joints)",
                file=file,
                field=key,
            )
    sd = out["shapedirs"]
    if sd.ndim != 3 or sd.shape[:2] != (v, 3) or sd.shape[2] < 1:
        raise InputError(
            f"expected shape ({v}, 3, S), got {sd.shape}", file=file, field="shapedirs"
        )
    f = out["f"]
    if f.ndim != 2 or f.shape[1] != 3 or f.shape[0] < 1:
        raise InputError(f"expected shape (F, 3), got {f.shape}", file=file, field="f")
    if f.min() < 0 or f.max() >= v:
        raise InputError(f"face index outside 0..{v - 1}", file=file, field="f")
    for key in ("v_template", "J_regressor", "weights", "shapedirs", "posedirs"):
        if not np.isfinite(out[key]).all():
            raise InputError("non-finite values", file=file, field=key)
        out[key] = out[key].astype(np.float32)
    out["f"] = f.astype(np.int64)
    out["kintree_table"] = out["kintree_table"].astype(np.int64)
    return out


def load_smpl_arrays(path: str | Path) -> dict[str, npt.NDArray[Any]]:
    """Load an SMPL model file (``.npz``, or an official ``.pkl`` via the restricted unpickler).

    Returns the validated arrays of :func:`validate_smpl_arrays`.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("SMPL model file not found", file=str(p))
    if p.suffix == ".npz":
        try:
            with np.load(p, allow_pickle=False) as z:
                raw: dict[str, Any] = {k: z[k] for k in z.files}
        except Exception as e:
            raise InputError(f"not a readable .npz ({e!r})", file=str(p)) from None
    elif p.suffix == ".pkl":
        raw = read_smpl_pickle(p)
    else:
        raise InputError("expected an SMPL model file ending in .npz or .pkl", file=str(p))
    return validate_smpl_arrays(raw, str(p))
