"""Reading JSON fast and failing clearly: ``.json`` / ``.json.gz``, orjson, the GC paused.

Parsing a 60 MB results file is the wall of every Python COCO evaluator: the parser itself is
fast, but it creates millions of Python floats, and the cyclic garbage collector re-scans them
again and again while they are being created. Pausing the collector for the duration of a parse
roughly halves the time (the parsed tree holds no reference cycles).
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from posebench.errors import InputError


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic GC inside the block (restored on exit, also on error)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_bytes(path: str | Path) -> bytes:
    """File contents, transparently gunzipped for ``.gz``; InputError when unreadable or empty."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", file=str(p)) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a JSON file", file=str(p)) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", file=str(p)) from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise InputError(f"corrupt gzip data: {e}", file=str(p)) from None
    if not raw.strip():
        raise InputError("file is empty", file=str(p))
    return raw


def parse_json(data: bytes, *, file: str) -> Any:
    """Parse JSON bytes; InputError with line and column when it is not JSON.

    NaN and Infinity literals are not JSON, but Python's ``json.dump`` writes them; such files are
    parsed (with the standard library) so that the validators can name the record that holds one.
    """
    try:
        with gc_paused():
            return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    try:
        with gc_paused():
            return json.loads(data)
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text (byte {e.start})", file=file) from None
    except json.JSONDecodeError as e:
        raise InputError(
            f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}", file=file
        ) from None


def load_json(path: str | Path) -> Any:
    """Read and parse a ``.json`` or ``.json.gz`` file."""
    return parse_json(read_bytes(path), file=str(path))


def json_type(value: object) -> str:
    """The JSON name of a Python value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number" if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def dump_json(obj: Any, path: str | Path) -> None:
    """Write JSON atomically (temp file + rename); gzip when the name ends in ``.gz``."""
    p = Path(path)
    data = orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)
    if p.suffix == ".gz":
        data = gzip.compress(data, compresslevel=6)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(p)
