"""One parametrised test for a phrase reader (a `text -> bool` like nlu/reach.py's
asks_phone): every wording it must read, and every one it must not, a case each."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest


def reader_cases(
    reader: Callable[[str], bool], says: Iterable[str], does_not: Iterable[str]
) -> Callable[[str, bool], None]:
    """A test function (assign it to a `test_...` name) asserting `reader` is true for
    each of `says` and false for each of `does_not`; each case's id is its text."""
    cases = [pytest.param(t, True, id=f"says: {t}") for t in says] + [
        pytest.param(t, False, id=f"does not: {t}") for t in does_not
    ]

    @pytest.mark.parametrize(("text", "expected"), cases)
    def test(text: str, expected: bool) -> None:
        assert bool(reader(text)) is expected, f"{reader.__name__}({text!r})"

    return test
