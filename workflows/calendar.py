"""Working days in Taiwan: weekends and national holidays are not counted."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

TAIPEI = ZoneInfo("Asia/Taipei")


@lru_cache(maxsize=32)
def _holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("TW", years=year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def add_working_days(start: datetime, days: int) -> datetime:
    """The same local time ``days`` working days after ``start`` (Asia/Taipei calendar)."""
    local = start.astimezone(TAIPEI)
    day = local.date()
    while days > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            days -= 1
    return datetime.combine(day, local.timetz()).astimezone(start.tzinfo)


def local_date(moment: datetime) -> date:
    """The date in Taipei: role and delegation dates are Taiwanese dates, not UTC ones."""
    return moment.astimezone(TAIPEI).date()


def roc_date_text(day: date) -> str:
    """115年12月03日: a day as the official forms print it (民國 year)."""
    return f"{day.year - 1911}年{day.month:02d}月{day.day:02d}日"


def roc_datetime_text(moment: datetime) -> str:
    """民國115年12月03日 09:00（臺北時間）: how stored messages (e-mails) name a moment."""
    local = moment.astimezone(TAIPEI)
    return f"民國{roc_date_text(local)} {local:%H:%M}（臺北時間）"


def months_before(moment: datetime, months: int) -> datetime:
    """The same Taipei wall-clock time ``months`` calendar months earlier (a 31st falls back to the last day)."""
    local = moment.astimezone(TAIPEI)
    total = local.year * 12 + local.month - 1 - months
    year, month = divmod(total, 12)
    day = min(local.day, calendar.monthrange(year, month + 1)[1])
    return local.replace(year=year, month=month + 1, day=day)
