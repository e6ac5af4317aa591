"""Cells for the CSV and Excel exports: text a spreadsheet would run as a formula stays text."""

from __future__ import annotations

from collections.abc import Iterable

# What Excel, LibreOffice and Google Sheets read as the start of a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Prefix text that starts like a formula with an apostrophe; numbers, dates and None pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def neutralise_rows(rows: Iterable[Iterable]) -> Iterable[list]:
    """Every cell of every row through ``neutralise``: the one path both export formats write."""
    for row in rows:
        yield [neutralise(value) for value in row]
