"""The one place the web layer reads the time, so tests can move it."""

from datetime import datetime, timezone


def now() -> datetime:
    return datetime.now(timezone.utc)
