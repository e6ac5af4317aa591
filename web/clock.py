"""The one place the web layer reads the time, so tests can move it."""

from datetime import UTC, date, datetime

from workflows.calendar import local_date


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    """Today on the Taipei calendar: the day roles, forms and deadlines are judged by."""
    return local_date(now())
