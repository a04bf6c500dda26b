"""Errors that name the file, the record and the field that were wrong."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input: says which file, which record, which field, and what was expected.

    The CLI turns it into a one-line message and exit code 2; library callers can read the parts.
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
            where.append(str(file))
        if record is not None:
            where.append(record if isinstance(record, str) else f"record {record}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{': '.join(where)}: {message}" if where else message)
