"""Errors that name the file, the record and the field that were wrong, and the one helper that
makes text from data safe to print (:func:`escape_control`)."""

from __future__ import annotations

import re

#: C0 and C1 control characters (ESC, BEL, CR, backspace, ...), DEL, the Unicode bidirectional
#: overrides and isolates (which reorder what a terminal shows), the line and paragraph
#: separators, and lone surrogates (undecodable bytes of a file name; they cannot be encoded).
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_CONTROL_KEEP_NL = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _escape_char(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def escape_control(text: object, *, keep_newlines: bool = False) -> str:
    """``str(text)`` with every control character written as a visible escape (``\\x1b``).

    Every message that quotes data (file names, keys, values read from a file) goes through this
    before it reaches a terminal, so a hostile file cannot move the cursor, recolour or rewrite
    what was printed, or hide text behind a bidirectional override. With ``keep_newlines`` a
    ``\\n`` is kept (for messages of several lines that posebench itself joined).
    """
    s = text if isinstance(text, str) else str(text)
    pattern = _CONTROL_KEEP_NL if keep_newlines else _CONTROL
    return pattern.sub(_escape_char, s)


#: Longest file / record / field name and message an error shows (a hostile key can be megabytes).
MAX_PART, MAX_MESSAGE = 400, 4000


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


class InputError(ValueError):
    """Bad input: says which file, which record, which field, and what was expected.

    The CLI turns it into a one-line message and exit code 2; library callers can read the parts
    (``file``, ``record``, ``field``, ``detail``: as given, not escaped). ``str()`` is escaped
    with :func:`escape_control`, so it is safe to print whatever the parts hold.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        record: str | int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = file
        self.record = record
        self.field = field
        self.detail = message
        where = []
        if file is not None:
            where.append(_clip(escape_control(file), MAX_PART))
        if record is not None:
            rec = escape_control(record) if isinstance(record, str) else f"record {record}"
            where.append(_clip(rec, MAX_PART))
        if field is not None:
            where.append(f"field {_clip(escape_control(repr(field)), MAX_PART)}")
        # posebench's own messages may span lines (a folder layout); data quoted in them is
        # quoted with repr() or escaped where it is written
        text = _clip(escape_control(message, keep_newlines=True), MAX_MESSAGE)
        super().__init__(f"{': '.join(where)}: {text}" if where else text)
