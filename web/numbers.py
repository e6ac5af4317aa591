"""Whole numbers from URLs and query strings, bounded so a huge one is a 404 or a 422, never a 500."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # the largest id PostgreSQL's integer and every SQLite build hold


def small_int(value: str) -> int:
    """A query-string number within 0..MAX_ID (use as ``request.args.get(name, type=small_int)``)."""
    number = int(value)
    if not 0 <= number <= MAX_ID:
        raise ValueError(f"{value} is out of range")
    return number


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` in routes: a number past MAX_ID does not match, so it is a 404."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
