"""The CSV pieces of contacts: record reading, header rules, formula escaping, phones."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hablo.contacts.csv_io import (
    CsvHeaderError,
    CsvTooLarge,
    Record,
    escape_cell,
    parse_header,
    read_records,
    sniff_delimiter,
    unescape_cell,
)
from hablo.domain.contacts import normalize_email, normalize_phone, region_of_locale


class Chunks:
    def __init__(self, data: bytes, size: int) -> None:
        self.data, self.size = data, size

    async def iter_chunked(self, n: int) -> AsyncIterator[bytes]:
        for i in range(0, len(self.data), self.size):
            yield self.data[i : i + self.size]


def records(data: bytes, size: int = 5, limit: int = 10**9) -> list[Record]:
    async def collect() -> list[Record]:
        return [r async for r in read_records(Chunks(data, size), limit)]

    return asyncio.run(collect())


def test_records_across_chunks_quotes_and_blank_lines() -> None:
    data = '\ufeffnombre;tel\r\n"Ana\nMaría";"1""2"\r\n\r\nJosé;3\r\n"abierto;4'.encode()
    got = records(data)
    assert [(r.row, r.text, r.problem) for r in got] == [
        (1, "nombre;tel", None),
        (2, '"Ana\nMaría";"1""2"', None),
        (4, "José;3", None),
        (5, "", "a quote is not closed"),
    ]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 4096])
def test_bare_carriage_returns_end_lines_whatever_the_chunking(size: int) -> None:
    # Old Mac/Excel line endings, and a stray \r inside a field (schemathesis sent
    # "@\rl\x17..." as a header, which made the csv module raise: a 500).
    got = records(b"name,phone\rAna,1\r\nBea,2\rx\ry", size=size)
    assert [(r.row, r.text) for r in got] == [
        (1, "name,phone"),
        (2, "Ana,1"),
        (3, "Bea,2"),
        (4, "x"),
        (5, "y"),
    ]


def test_an_endless_row_is_reported_and_read_past() -> None:
    got = records(b"a\n" + b"x" * 200_000 + b"\nb\n", size=4096)
    assert [(r.row, r.problem) for r in got] == [
        (1, None),
        (2, "the row is longer than 64 KB"),
        (3, None),
    ]


def test_size_limit() -> None:
    with pytest.raises(CsvTooLarge):
        records(b"a\n" * 100, limit=50)


def test_header_rules() -> None:
    assert parse_header(["Nombre", "Teléfono", "created_at", ""]) == ["name", "phone", None, None]
    with pytest.raises(CsvHeaderError):
        parse_header(["name", "phone", "birthday"])
    with pytest.raises(CsvHeaderError):
        parse_header(["name"])
    with pytest.raises(CsvHeaderError):
        parse_header(["phone", "telefono"])
    assert sniff_delimiter('"a,b";c;d') == ";"
    assert sniff_delimiter("name") == ","


@pytest.mark.parametrize("value", ["=1+1", "+5411", "-2", "@SUM(A1)", "'quoted", "''x", "plain"])
def test_formula_escaping_round_trips(value: str) -> None:
    escaped = escape_cell(value)
    assert escaped[:1] not in ("=", "+", "-", "@")
    assert unescape_cell(escaped) == value


def test_phones_and_emails() -> None:
    assert region_of_locale("es-AR") == "AR" and region_of_locale("es") is None
    assert normalize_phone("011 15 5555-0000", "AR") == "+5491155550000"
    assert normalize_phone("+34 612 345 678", None) == "+34612345678"
    with pytest.raises(ValueError, match="country code"):
        normalize_phone("612345678", None)
    with pytest.raises(ValueError):
        normalize_phone("12345", "AR")
    assert normalize_email(" Ana@Example.COM ") == "ana@example.com"
    for bad in ("ana", "ana@", "a b@x.com", "ana@x"):
        with pytest.raises(ValueError):
            normalize_email(bad)
