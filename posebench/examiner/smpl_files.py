"""SMPL model files: a restricted unpickler for the official ``.pkl`` files and an ``.npz`` loader.

The official SMPL ``.pkl`` files are Python 2 pickles holding numpy arrays, a
``scipy.sparse.csc_matrix`` (``J_regressor``) and chumpy objects (``shapedirs`` and sometimes
``v_template``/``posedirs``). chumpy does not install on current Python, and unpickling runs
whatever the file names, so :class:`RestrictedUnpickler` resolves only an explicit allow-list:
numpy's array reconstruction functions, a few harmless builtins, the sparse matrix classes and the
chumpy classes, the last two mapped to stand-ins that only record their pickled state. Anything
else raises :class:`~posebench.errors.InputError` naming the file and the refused class.

Allowed callables still allocate what the data asks for (``bytearray(2**31 - 1)`` is a 32-byte
pickle; ``numpy.core.multiarray._reconstruct`` takes a shape), so each one is wrapped: ints are
refused where a buffer is expected, array shapes and item sizes are checked, ``_codecs.encode``
only turns text into latin-1 bytes, and the bytes allocated from the data are counted against a
budget (``max_bytes``, :data:`MAX_ALLOC_BYTES` by default) before anything is allocated.

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

#: Bytes a model file may make the unpickler allocate beyond the bytes it holds itself, all
#: objects together. Arrays arrive as ``_reconstruct(ndarray, (0,), dtype)`` plus their raw bytes
#: (already in the file), so a real model needs almost nothing here.
MAX_ALLOC_BYTES = 256 << 20
#: Largest dense matrix made from a pickled sparse one (SMPL-X's J_regressor: 4.6 MB).
MAX_DENSE_BYTES = 1 << 30
#: Elements a container built by the unpickler (``list(...)``, ``tuple(...)``) may hold.
MAX_CONTAINER_ITEMS = 50_000_000


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


class _NdarrayType:
    """What the unpickler hands out for ``numpy.ndarray``: usable only as the type argument of
    the guarded ``_reconstruct``; calling it (``ndarray((2**40,))``) is refused."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        raise InputError("refused: the pickle calls numpy.ndarray(...) directly")


def _shape(value: Any) -> tuple[int, ...] | None:
    """A shape tuple of non-negative ints, or None."""
    dims = value if isinstance(value, tuple | list) else (value,)
    if len(dims) > 32 or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                 for d in dims):  # fmt: skip
        return None
    return tuple(dims)


def _numpy_callable(name: str) -> Any:
    for key, obj in _numpy_allowed().items():
        if key[1] == name:
            return obj
    raise KeyError(name)


_RECONSTRUCT = _numpy_callable("_reconstruct")
_SCALAR = _numpy_callable("scalar")


def _copyreg_reconstructor() -> Any:
    import copyreg

    return copyreg._reconstructor  # type: ignore[attr-defined]


_COPYREG_RECONSTRUCTOR = _copyreg_reconstructor()


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only numpy arrays, sparse matrices and chumpy objects.

    ``file_name`` is used in error messages only.
    """

    _ALLOWED: ClassVar[dict[tuple[str, str], Any]] = {}

    def __init__(
        self,
        stream: io.BufferedIOBase | io.BytesIO,
        file_name: str,
        *,
        max_bytes: int = MAX_ALLOC_BYTES,
    ) -> None:
        super().__init__(stream, encoding="latin1")
        self.file_name = file_name
        self.budget = max_bytes
        self.max_bytes = max_bytes
        if not RestrictedUnpickler._ALLOWED:
            RestrictedUnpickler._ALLOWED = {
                **_numpy_allowed(),
                **_builtins_allowed(),
                **_sparse_allowed(),
            }
        self._guarded = self._guards()

    # -- allocation guards ------------------------------------------------------------------

    def _refuse(self, what: str) -> InputError:
        return InputError(
            f"refused: the pickle asks for {what} (an SMPL model file is arrays of a known "
            f"size; limit {self.max_bytes} bytes in all)",
            file=self.file_name,
        )

    def _spend(self, nbytes: int, what: str) -> None:
        if nbytes < 0 or nbytes > self.budget:
            raise self._refuse(f"{nbytes} bytes for {what}")
        self.budget -= nbytes

    def _guards(self) -> dict[tuple[str, str], Any]:
        allowed = RestrictedUnpickler._ALLOWED
        guarded: dict[tuple[str, str], Any] = {}
        for key, obj in allowed.items():
            _module, name = key
            if name == "_reconstruct":
                guarded[key] = self._reconstruct
            elif name == "scalar":
                guarded[key] = self._scalar
            elif name == "ndarray":
                guarded[key] = _NdarrayType
            elif name == "bytearray":
                guarded[key] = self._bytearray
            elif name in ("list", "tuple", "set", "frozenset", "dict"):
                guarded[key] = self._container(obj)
            elif name == "encode":
                guarded[key] = self._latin1
            elif name == "_reconstructor":
                guarded[key] = self._reconstructor
            elif name == "complex":
                guarded[key] = self._complex
            else:
                guarded[key] = obj
        return guarded

    def _reconstruct(self, subtype: Any, shape: Any, dtype: Any) -> Any:
        if subtype is not _NdarrayType:
            raise self._refuse(f"an array of type {subtype!r}")
        dims = _shape(shape)
        if dims is None:
            raise self._refuse(f"an array of shape {shape!r}"[:200])
        dt = np.dtype(dtype)
        self._spend(int(np.prod(dims, dtype=object)) * dt.itemsize, "an array")
        return _RECONSTRUCT(np.ndarray, shape, dtype)

    def _scalar(self, dtype: Any, *args: Any) -> Any:
        dt = np.dtype(dtype)
        self._spend(dt.itemsize, "a scalar")
        return _SCALAR(dt, *args)

    def _bytearray(self, *args: Any) -> bytearray:
        if args and not isinstance(args[0], bytes | bytearray | str):
            raise self._refuse(f"bytearray({type(args[0]).__name__})")
        if args:
            self._spend(len(args[0]), "a bytearray")
        return bytearray(*args)

    def _container(self, kind: type) -> Any:
        def build(*args: Any) -> Any:
            if args and not isinstance(args[0], list | tuple | dict | set | frozenset):
                raise self._refuse(f"{kind.__name__}({type(args[0]).__name__})")
            if args and len(args[0]) > MAX_CONTAINER_ITEMS:
                raise self._refuse(f"{kind.__name__} of {len(args[0])} items")
            return kind(*args)

        return build

    def _latin1(self, text: Any, encoding: str = "utf-8", *rest: Any) -> bytes:
        if not isinstance(text, str) or encoding.replace("-", "").lower() != "latin1" or rest:
            raise self._refuse(f"_codecs.encode with {encoding!r}")
        return text.encode("latin1")

    def _reconstructor(self, cls: Any, base: Any, state: Any) -> Any:
        if base is not object:
            raise self._refuse(f"copyreg._reconstructor with base {base!r}"[:200])
        return _COPYREG_RECONSTRUCTOR(cls, base, state)

    def _complex(self, *args: Any) -> complex:
        if not all(isinstance(a, int | float) and not isinstance(a, bool) for a in args):
            raise self._refuse("complex() of a non-number")
        return complex(*args)

    def find_class(self, module: str, name: str) -> Any:
        found = self._guarded.get((module, name))
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
    if any(d < 0 for d in shape) or shape[0] * shape[1] * 8 > MAX_DENSE_BYTES:
        raise InputError(
            f"sparse matrix of shape {shape} is too large to make dense (limit "
            f"{MAX_DENSE_BYTES} bytes)",
            file=file,
            field=key,
        )
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


def read_smpl_pickle(path: str | Path, *, max_bytes: int = MAX_ALLOC_BYTES) -> dict[str, Any]:
    """Read an official SMPL ``.pkl`` without chumpy: a dict of numpy arrays (and plain values).

    ``max_bytes``: what the file may make the unpickler allocate, all objects together.
    """
    file = str(path)
    with open(path, "rb") as fh:
        try:
            obj = RestrictedUnpickler(fh, file, max_bytes=max_bytes).load()
        except InputError as e:
            if e.file is None:
                raise InputError(e.detail, file=file, field=e.field) from None
            raise
        except RecursionError:
            raise InputError("not a readable SMPL pickle (nested too deeply)", file=file) from None
        except Exception as e:
            raise InputError(f"not a readable SMPL pickle ({e!r})"[:300], file=file) from None
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
