"""Optional packages and the pip extra that brings each: one table, one install line.

A feature that needs an optional package imports it where it is used; when it is missing, the
CLI turns the ImportError into one line naming the package and the extra
(:func:`missing_package_message`), never a traceback. ``tests/test_install_hints.py`` hides each
package in a subprocess and checks the line.
"""

from __future__ import annotations

import re

#: top-level module -> the posebench extra that installs it (``pip install 'posebench[X]'``).
EXTRAS: dict[str, str] = {
    "torch": "torch",
    "smplx": "examiner",
    "gymnasium": "examiner",
    "h5py": "hdf5",
    "jinja2": "report",
    "matplotlib": "report",
    "onnxruntime": "onnx",
    "moderngl": "gl",
}

#: what each extra is for, as the README names them.
EXTRA_USES: dict[str, str] = {
    "torch": "batched torch paths (--condition-backend torch, metrics on the GPU)",
    "examiner": "posebench examine (torch, smplx, gymnasium)",
    "hdf5": ".h5 prediction and annotation files (h5py)",
    "report": "posebench report to HTML, plots (jinja2, matplotlib)",
    "onnx": "the onnx adapter (onnxruntime)",
    "gl": "the examiner's OpenGL renderer (moderngl)",
    "mediapipe": "the mediapipe adapter's runtime needs (install mediapipe itself with --no-deps)",
    "all": "every extra above",
}

#: core dependencies (``pip install posebench`` brings them): a missing one means a broken install.
CORE = ("numpy", "orjson", "simdjson", "scipy", "PIL", "yaml", "pydantic", "pyarrow", "tqdm", "cv2")


def install_hint(module: str, command: str | None = None) -> str | None:
    """The pip command that brings ``module`` (top-level name), or None when unknown.

    ``command``: the subcommand that needed it (``examine`` asks for the whole examiner extra).
    """
    top = module.split(".")[0]
    if top in EXTRAS:
        extra = EXTRAS[top]
        if command == "examine" and top in ("torch", "smplx", "gymnasium"):
            extra = "examiner"
        hint = f"pip install 'posebench[{extra}]'"
        if extra in ("torch", "examiner"):
            hint += " (CPU-only machine: pip install torch==2.13.0 first)"
        return hint
    if top in CORE:
        return "pip install --force-reinstall posebench  (a core dependency is missing)"
    return None


def missing_package_message(e: ImportError, command: str | None = None) -> str | None:
    """One line for an ImportError of an optional or core package, or None (not ours to explain).

    Reads ``e.name`` (``import of torch halted``, ``No module named 'matplotlib.backends'``), else
    a known package named in the message (a library's own ``ImportError("... needs smplx")``).
    """
    name = getattr(e, "name", None)
    candidates = [name] if name else []
    text = str(e)
    candidates += [m for m in (*EXTRAS, *CORE) if re.search(rf"\b{re.escape(m)}\b", text)]
    for mod in candidates:
        if mod is None:
            continue
        hint = install_hint(mod, command)
        if hint is not None:
            top = mod.split(".")[0]
            return f"this needs the package {top!r}, which is not installed: {hint}"
    return None
