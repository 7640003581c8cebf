"""Contacts as CSV: the columns, formula-injection escaping, and a streaming record reader.

Spreadsheets are the audience. Excel in Spanish locales writes ";" between cells and
often a UTF-8 byte-order mark (or Windows-1252 with plain "CSV"); all of that reads.
Cells starting with = + - @ are formulas to a spreadsheet, so the export prefixes them
with an apostrophe (OWASP's advice) and the import takes that apostrophe off again.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Protocol

# Columns the import writes, and the names people give them (English and Spanish).
COLUMN_ALIASES: dict[str, str] = {
    "name": "name",
    "nombre": "name",
    "phone": "phone",
    "telefono": "phone",
    "teléfono": "phone",
    "celular": "phone",
    "whatsapp": "phone",
    "email": "email",
    "e-mail": "email",
    "correo": "email",
    "kind": "kind",
    "tipo": "kind",
    "language": "language",
    "idioma": "language",
}
# Columns the export adds that the import reads past (so an export imports as it is).
READ_ONLY_COLUMNS = ("consent_at", "total_spent_minor", "last_purchase_at", "created_at")
EXPORT_COLUMNS = ("name", "phone", "email", "kind", "language", *READ_ONLY_COLUMNS)

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
MAX_RECORD_CHARS = 64 * 1024
CHUNK_BYTES = 64 * 1024
_DELIMITERS = (",", ";", "\t")


class CsvHeaderError(ValueError):
    def __init__(self, message: str, details: dict[str, object]) -> None:
        super().__init__(message)
        self.details = details


class CsvTooLarge(Exception):
    pass


def escape_cell(value: str) -> str:
    """Make a cell inert in a spreadsheet (and reversible by `unescape_cell`)."""
    if value.startswith(FORMULA_TRIGGERS) or value.startswith("'"):
        return "'" + value
    return value


def unescape_cell(value: str) -> str:
    if len(value) > 1 and value[0] == "'" and value[1] in (*FORMULA_TRIGGERS, "'"):
        return value[1:]
    return value


def write_rows(rows: Iterable[Iterable[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow([escape_cell(cell) for cell in row])
    return out.getvalue()


def parse_header(cells: list[str]) -> list[str | None]:
    """Each column's field ("name", "phone", ...) or None for a column to read past.
    Unknown or repeated columns are refused before any row is imported."""
    fields: list[str | None] = []
    unknown: list[str] = []
    for raw in cells:
        name = raw.strip().lower().replace(" ", "_")
        if not name or name in READ_ONLY_COLUMNS:
            fields.append(None)
        elif name in COLUMN_ALIASES:
            fields.append(COLUMN_ALIASES[name])
        else:
            unknown.append(raw.strip()[:100])
            fields.append(None)
    accepted = sorted({*COLUMN_ALIASES.values()})
    if unknown:
        raise CsvHeaderError(
            "the header row has columns we do not know",
            {"unknown_columns": unknown, "accepted_columns": accepted},
        )
    named = [f for f in fields if f is not None]
    repeated = sorted({f for f in named if named.count(f) > 1})
    if repeated:
        raise CsvHeaderError("the header row names a column twice", {"repeated_columns": repeated})
    if "phone" not in named and "email" not in named:
        raise CsvHeaderError(
            "the header row needs a phone or an email column (the first row is the header)",
            {"accepted_columns": accepted},
        )
    return fields


def sniff_delimiter(header: str) -> str:
    """The most frequent of , ; tab outside quotes in the header line."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def split_record(text: str, delimiter: str) -> list[str]:
    return next(csv.reader([text], delimiter=delimiter, strict=False), [])


def is_blank_row(text: str, delimiter: str) -> bool:
    return not any(cell.strip() for cell in split_record(text, delimiter))


@dataclass(frozen=True)
class Record:
    row: int  # as a spreadsheet numbers it: the header is row 1
    text: str  # one CSV record without its line break (may hold quoted line breaks)
    problem: str | None = None  # the record could not be read as it is


class ByteStream(Protocol):
    def iter_chunked(self, n: int) -> AsyncIterator[bytes]: ...


async def read_records(stream: ByteStream, max_bytes: int) -> AsyncIterator[Record]:
    """CSV records from a byte stream, holding one chunk and one record at a time.

    A record ends at a line break outside quotes (an even number of quote characters so
    far). Blank records are skipped but keep their row number. A record over 64 KB is
    reported as a problem and read past, never held whole.
    """
    pending = ""  # decoded text not yet split into lines
    record = ""
    quotes = 0
    overlong = False  # the current record passed the size cap: drop it up to its end
    row = 0
    async for text in _decoded(stream, max_bytes):
        pending += text
        # Old Mac/Excel files end lines with a bare \r, and a \r inside an unquoted field
        # would make the csv module raise: every \r and \r\n is a line break. A \r that
        # ends the chunk waits for the next one (it may be half of a \r\n).
        held = "\r" if pending.endswith("\r") else ""
        pending = pending[: len(pending) - len(held)].replace("\r\n", "\n").replace("\r", "\n")
        lines = pending.split("\n")
        pending = lines.pop() + held
        for line in lines:
            quotes += line.count('"')
            if not overlong:
                record += line + "\n"
                overlong = len(record) > MAX_RECORD_CHARS
            # An overlong record ends at the next line break, whatever its quotes: the
            # rows after it are read again from there.
            if quotes % 2 == 0 or overlong:
                row += 1
                done = _finish(row, record, overlong=overlong, unclosed=quotes % 2 == 1)
                record, quotes, overlong = "", 0, False
                if done is not None:
                    yield done
        if len(pending) > MAX_RECORD_CHARS:  # one endless line: count its quotes, drop it
            quotes += pending.count('"')
            overlong, record, pending = True, "x", ""
    if pending or record:
        quotes += pending.count('"')
        record += pending
        overlong = overlong or len(record) > MAX_RECORD_CHARS
        row += 1
        done = _finish(row, record, overlong=overlong, unclosed=quotes % 2 == 1)
        if done is not None:
            yield done


def _finish(row: int, text: str, *, overlong: bool, unclosed: bool) -> Record | None:
    text = text.rstrip("\r\n")
    if overlong:
        return Record(row, "", "the row is longer than 64 KB")
    if not text.strip():
        return None
    if unclosed:
        return Record(row, "", "a quote is not closed")
    if "\ufffd" in text:
        return Record(row, "", "the row has bytes that are not UTF-8; save the file as CSV UTF-8")
    return Record(row, text)


async def _decoded(stream: ByteStream, max_bytes: int) -> AsyncIterator[str]:
    """The stream as text; the encoding is decided on the first 64 KB."""
    decoder: codecs.IncrementalDecoder | None = None
    head = b""
    received = 0
    async for chunk in stream.iter_chunked(CHUNK_BYTES):
        received += len(chunk)
        if received > max_bytes:
            raise CsvTooLarge()
        if decoder is None:
            head += chunk
            if len(head) < CHUNK_BYTES:
                continue
            decoder, chunk, head = _decoder_for(head), head, b""
        yield decoder.decode(chunk)
    if decoder is None:
        decoder = _decoder_for(head)
    yield decoder.decode(head, final=True)


def _decoder_for(first_chunk: bytes) -> codecs.IncrementalDecoder:
    """UTF-8 (with or without BOM) when the start of the file is UTF-8, else Windows-1252
    (what Excel's plain "CSV" writes in Spanish locales)."""
    try:
        codecs.getincrementaldecoder("utf-8-sig")().decode(first_chunk, final=False)
    except UnicodeDecodeError:
        return codecs.getincrementaldecoder("cp1252")(errors="replace")
    return codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
