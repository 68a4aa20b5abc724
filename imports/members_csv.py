"""Reading a members CSV (`email,role`): the same checks when it is uploaded
and when the job reads it back from storage."""

from __future__ import annotations

import csv
import io

from django.conf import settings

from .errors import CsvEmpty, CsvHeaderInvalid, CsvTooManyRows, FileTypeUnsupported

HEADER = ["email", "role"]


def members_csv_rows(data: bytes) -> list[tuple[int, list[str]]]:
    """(line number, fields) of each non-blank row after the header; the header is line 1,
    so the numbers are what a spreadsheet shows. Raises the import's 4xx errors."""
    if b"\x00" in data:
        raise FileTypeUnsupported(details={"reason": "binary content"})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileTypeUnsupported(details={"reason": "not UTF-8 text"}) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        header = next(reader, None)
        if header is None or [name.strip().lower() for name in header] != HEADER:
            raise CsvHeaderInvalid(details={"header": header or [], "expected": HEADER})
        for fields in reader:
            if any(field.strip() for field in fields):
                rows.append((reader.line_num, fields))
    except csv.Error as exc:
        raise FileTypeUnsupported(details={"reason": f"not CSV: {exc}"}) from None
    if not rows:
        raise CsvEmpty()
    if len(rows) > settings.IMPORTS["MAX_ROWS"]:
        raise CsvTooManyRows(details={"rows": len(rows), "max_rows": settings.IMPORTS["MAX_ROWS"]})
    return rows
