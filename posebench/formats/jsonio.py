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
import os
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from posebench.errors import InputError
from posebench.formats import rules


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


#: Default cap on the decompressed size of a ``.gz`` input (``POSEBENCH_MAX_INFLATE`` in bytes
#: overrides it): a 1 MiB gzip bomb inflates to 1 GiB. COCO train2017's keypoint GT is 250 MB.
DEFAULT_MAX_INFLATE = 512 << 20


def max_inflate() -> int:
    """The decompressed-size cap in bytes (``$POSEBENCH_MAX_INFLATE`` or 512 MiB)."""
    text = os.environ.get("POSEBENCH_MAX_INFLATE", "")
    if not text:
        return DEFAULT_MAX_INFLATE
    try:
        value = int(text)
    except ValueError:
        raise InputError(
            f"expected a number of bytes, got {text!r}", field="POSEBENCH_MAX_INFLATE"
        ) from None
    if value < 1:
        raise InputError(
            f"expected a positive number of bytes, got {value}", field="POSEBENCH_MAX_INFLATE"
        )
    return value


def gunzip(raw: bytes, *, file: str, limit: int | None = None) -> bytes:
    """Decompress gzip data (all members), refusing more than ``limit`` bytes of output.

    The output is produced in bounded chunks, so a bomb is stopped after ``limit`` bytes, never
    held whole in memory.
    """
    cap = max_inflate() if limit is None else limit
    out = bytearray()
    data = raw
    try:
        while data:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            chunk = d.decompress(data, cap + 1 - len(out))
            out += chunk
            while d.unconsumed_tail and len(out) <= cap:
                out += d.decompress(d.unconsumed_tail, cap + 1 - len(out))
            if len(out) > cap:
                raise InputError(
                    f"decompresses to more than {cap} bytes (the limit; set "
                    "POSEBENCH_MAX_INFLATE to raise it)",
                    file=file,
                )
            if not d.eof:
                raise InputError("corrupt gzip data: truncated stream", file=file)
            data = d.unused_data.lstrip(b"\x00")  # gzip allows zero padding between members
    except zlib.error as e:
        raise InputError(f"corrupt gzip data: {e}", file=file) from None
    return bytes(out)


def read_bytes(path: str | Path) -> bytes:
    """File contents, transparently gunzipped for ``.gz`` (size-capped, :func:`gunzip`);
    InputError when unreadable or empty."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", file=str(p)) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a JSON file", file=str(p)) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", file=str(p)) from None
    except ValueError as e:  # an embedded NUL in the path
        raise InputError(f"not a usable path: {e}", file=str(p)) from None
    if raw[:2] == b"\x1f\x8b":
        raw = gunzip(raw, file=str(p))
    if not raw.strip():
        raise InputError("file is empty", file=str(p))
    return raw


def parse_json(data: bytes, *, file: str, duplicate_keys: str = "refuse", root: str = "") -> Any:
    """Parse JSON bytes; InputError with line and column when it is not JSON.

    NaN and Infinity literals are not JSON, but Python's ``json.dump`` writes them; such files are
    parsed (with the standard library) so that the validators can name the record that holds one.
    Nesting deeper than :data:`MAX_DEPTH` is refused. ``duplicate_keys``: ``refuse`` (the
    default; an object with a key twice is an InputError naming where), ``last`` (keep the last
    value, as ``json.load`` and pycocotools do) or ``unchecked`` (the caller checks).
    """
    tree: Any = _NOT_PARSED
    try:
        with gc_paused():
            tree = orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    if tree is _NOT_PARSED:
        _check_depth(data, file=file)
        try:
            with gc_paused():
                tree = json.loads(data)
        except UnicodeDecodeError as e:
            raise InputError(f"not UTF-8 text (byte {e.start})", file=file) from None
        except json.JSONDecodeError as e:
            raise InputError(
                f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}", file=file
            ) from None
        except RecursionError:
            raise InputError(f"nested deeper than {MAX_DEPTH} levels", file=file) from None
    if duplicate_keys == "refuse" and may_have_duplicate_keys(data, tree):
        where = find_duplicate_key(data, file=file, root=root)
        if where is not None:
            path, key = where
            rules.tolerate(
                "duplicate-key",
                InputError(
                    f"duplicate key {key!r} in one object (a JSON reader would silently keep "
                    "only one of the values)",
                    file=file,
                    record=path or "(top level)",
                    field=key,
                ),
            )
    return tree


#: JSON nesting deeper than this is refused (orjson's own limit is 1024; a COCO file needs 5).
MAX_DEPTH = 512

_NOT_PARSED = object()


def _check_depth(data: bytes, *, file: str) -> None:
    """InputError when brackets nest deeper than MAX_DEPTH (before a recursive parser sees it).

    Counts brackets outside strings only when the text has no backslash and the quick count
    already exceeds the limit, so ordinary files cost one pass of ``bytes.count``.
    """
    opens = data.count(b"[") + data.count(b"{")
    if opens <= MAX_DEPTH:
        return
    depth = 0
    in_str = False
    escaped = False
    for ch in data:
        if in_str:
            if escaped:
                escaped = False
            elif ch == 0x5C:  # backslash
                escaped = True
            elif ch == 0x22:
                in_str = False
        elif ch == 0x22:
            in_str = True
        elif ch in (0x5B, 0x7B):
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError(f"nested deeper than {MAX_DEPTH} levels", file=file)
        elif ch in (0x5D, 0x7D):
            depth -= 1


def count_strings(tree: Any) -> int:
    """Object keys plus string values in a parsed JSON tree (a walk; number lists cost C time)."""
    total = 0
    stack = [tree]
    while stack:
        node = stack.pop()
        if type(node) is dict:
            total += len(node)
            stack.extend(node.values())
        elif type(node) is list:
            kinds = set(map(type, node))
            if kinds <= _SCALARS:
                if str in kinds:
                    total += sum(1 for x in node if type(x) is str)
            else:
                stack.extend(node)
        elif type(node) is str:
            total += 1
    return total


_SCALARS = frozenset({int, float, bool, type(None), str})


def may_have_duplicate_keys(data: bytes, tree: Any) -> bool:
    """False when ``tree`` provably kept every key of ``data``; True when a closer look is needed.

    Once escape sequences (``\\"``, ``\\\\``, ``\\u00e9``) are cut out, every ``"`` delimits a
    string, so the text holds ``count('"') / 2`` strings; the parsed tree holds one per key and
    per string value, and a duplicate key is the only way to lose one. One ``bytes.count`` plus a
    walk of the tree (and one regex pass when the text has a backslash).
    """
    if b"\\" in data:
        data = _ESCAPE.sub(b"", data)  # backslash + the next byte, left to right
    return data.count(b'"') != 2 * count_strings(tree)


#: a JSON escape: a backslash and the byte after it (``\\uXXXX`` leaves hex digits, no quote)
_ESCAPE = re.compile(rb"\\.", re.DOTALL)


def find_duplicate_key(data: bytes, *, file: str, root: str = "") -> tuple[str, str] | None:
    """``(where, key)`` of the first object holding a key twice, or None.

    ``where`` is a path like ``results[12]`` or ``annotations[3].keypoints``; the parse uses the
    standard library with an ``object_pairs_hook`` (slow; only called when
    :func:`may_have_duplicate_keys` cannot rule duplicates out).
    """
    found: list[str] = []

    class _Dup(dict[str, Any]):
        dup_key: str

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        d = dict(pairs)
        if len(d) != len(pairs):
            seen: set[str] = set()
            for k, _ in pairs:
                if k in seen:
                    out = _Dup(d)
                    out.dup_key = k
                    found.append(k)
                    return out
                seen.add(k)
        return d

    _check_depth(data, file=file)
    try:
        tree = json.loads(data, object_pairs_hook=hook)
    except (ValueError, RecursionError):
        return None  # the ordinary parse already accepted it; nothing more to say
    if not found:
        return None
    stack: list[tuple[Any, str]] = [(tree, root)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, _Dup):
            return path, node.dup_key
        if isinstance(node, dict):
            stack.extend(
                (v, f"{path}.{k}" if path else str(k))
                for k, v in reversed(node.items())
                if isinstance(v, dict | list)
            )
        elif isinstance(node, list):
            stack.extend(
                (v, f"{path}[{i}]")
                for i, v in reversed(list(enumerate(node)))
                if isinstance(v, dict | list)
            )
    return None


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
