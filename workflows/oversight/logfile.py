"""Reading a WebIR query-log download: CSV (Big5/CP950 or UTF-8, BOM or not) or .xlsx, row by row.

Nothing here holds the whole file: CSV is decoded as a stream, .xlsx is read with openpyxl's read-only
mode. Columns are found by their header text (downloads name them differently); the caller may correct
the mapping. Each row becomes a ``LogRow`` or a list of ``RowError``s naming the line and the column.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import IO, Any

from models import QUERY_ITEMS

from ..calendar import TAIPEI
from ..errors import Invalid
from ..validators import FIRST_DATE, LAST_DATE, UNSAFE_TEXT_PATTERN, national_id, text_problem

# field key → (label, header texts seen in downloads); matched after removing spaces and brackets.
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "account": ("使用者帳號", ("使用者帳號", "使用者代號", "查詢者帳號", "帳號", "使用者", "userid", "account")),
    "date": ("查詢日期", ("查詢日期", "日期", "查詢日", "date")),
    "time": ("查詢時間", ("查詢時間", "時間", "time")),
    "item": ("作業代號", ("作業代號", "作業代碼", "查調項目", "項目代號", "查詢項目", "operation", "item")),
    "subject": ("查詢條件", ("查詢條件", "查詢對象", "身分證字號", "身分證號", "被查詢人身分證字號", "subject")),
    "case_number": ("案號", ("案號", "案件編號", "案件號碼", "casenumber")),
    "reason": ("查詢事由", ("查詢事由", "事由", "查調事由", "reason")),
    "result": ("查詢結果", ("查詢結果", "結果", "result")),
}
REQUIRED = ("account", "date", "item", "subject")
HEADER_SEARCH_ROWS = 10  # a download may start with a title line or two before its header
_SNIFF_BYTES = 64 * 1024
_SPOOL_BYTES = 8 * 1024 * 1024  # an uploaded .xlsx past this waits on disk, not in memory
_STRIP = re.compile(r"[\s()（）\[\]【】_:：\-]")
_ROC_SLASHED = re.compile(r"^(\d{2,3})[/.\-](\d{1,2})[/.\-](\d{1,2})$")
_ISO = re.compile(r"^(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})$")
_ID_LIKE = re.compile(r"^[A-Z][1289]\d{8}$")
_MAX_TEXT = 200


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str


@dataclass(frozen=True)
class LogRow:
    line: int
    account: str
    queried_at: datetime  # aware, UTC
    item_code: str
    subject_id: str
    case_number: str | None
    reason: str | None
    result: str | None


@dataclass
class Table:
    """A readable file: its header row, the mapping found, and its remaining rows as (line, cells)."""

    header: list[str]
    header_line: int
    mapping: dict[str, int]  # field key → column index
    rows: Iterator[tuple[int, list[Any]]]
    kind: str  # "xlsx", "utf-8" or "cp950"
    # How far the reading is, for a progress bar: bytes of a CSV read so far, rows of a spreadsheet; and the whole
    # (the spreadsheet's rows as its dimension says; a CSV's size is the caller's to know).
    position: Callable[[], int] = field(default=lambda: 0)
    total: int | None = None


def _normal(text: Any) -> str:
    return _STRIP.sub("", str(text or "")).lower()


def guess_mapping(header: list[Any]) -> dict[str, int]:
    """Field key → column index, by header text (exact variant first, then a variant inside the text)."""
    cells = [_normal(h) for h in header]
    mapping: dict[str, int] = {}
    for key, (_label, variants) in FIELDS.items():
        names = [_normal(v) for v in variants]
        found = next((i for n in names for i, c in enumerate(cells) if c == n and i not in mapping.values()), None)
        if found is None:
            found = next((i for n in names for i, c in enumerate(cells)
                          if c and n in c and i not in mapping.values()), None)
        if found is not None:
            mapping[key] = found
    return mapping


def _apply_override(header: list[str], mapping: dict[str, int], override: dict[str, str] | None) -> dict[str, int]:
    """The manager's corrections: field key → header text (or "" to leave the field unmapped)."""
    if not override:
        return mapping
    result = dict(mapping)
    problems = {}
    for key, column in override.items():
        if key not in FIELDS:
            problems[key] = f"沒有這個欄位：{key}"
        elif not column:
            result.pop(key, None)
        elif column not in header:
            problems[key] = f"檔案沒有「{column}」這一欄"
        else:
            result[key] = header.index(column)
    if problems:
        raise Invalid(problems, "欄位對應有誤")
    return result


def open_table(stream: IO[bytes], override: dict[str, str] | None = None) -> Table:
    """Open a log file; a file that cannot be read is refused (Invalid) with the reason."""
    head = stream.read(_SNIFF_BYTES)
    if not head:
        raise Invalid({"file": "檔案是空的"}, "無法讀取檔案")
    if head.startswith(b"PK\x03\x04"):
        (rows, position, total), kind = _xlsx_rows(head, stream), "xlsx"
    else:
        rows, kind, position = _csv_rows(head, stream)
        total = None
    searched: list[tuple[int, list[Any]]] = []
    for line, cells in rows:
        searched.append((line, cells))
        mapping = guess_mapping(cells)
        if all(k in mapping for k in REQUIRED) or (override and len(searched) == 1 and len(mapping) >= 2):
            header = [str(c or "").strip() for c in cells]
            mapping = _apply_override(header, mapping, override)
            missing = [FIELDS[k][0] for k in REQUIRED if k not in mapping]
            if missing:
                raise Invalid({"mapping": "缺少欄位：" + "、".join(missing)}, "無法讀取檔案")
            return Table(header, line, mapping, rows, kind, position, total)
        if len(searched) >= HEADER_SEARCH_ROWS:
            break
    raise Invalid({"file": "前 10 列找不到可辨識的標題列（需有使用者帳號、查詢日期、作業代號、查詢條件）"},
                  "無法讀取檔案")


def _csv_rows(head: bytes, stream: IO[bytes]) -> tuple[Iterator[tuple[int, list[Any]]], str, Callable[[], int]]:
    encoding = _sniff_encoding(head)
    joined = _Rejoined(head, stream)
    raw = io.BufferedReader(joined, buffer_size=_SNIFF_BYTES)  # type: ignore[arg-type]
    text = io.TextIOWrapper(raw, encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="")
    reader = csv.reader(text)

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            start = 1
            for cells in reader:
                yield start, cells
                start = reader.line_num + 1
        except UnicodeDecodeError:
            raise Invalid({"file": f"第 {reader.line_num + 1} 列附近的文字不是 {encoding} 編碼"},
                          "無法讀取檔案") from None
        except csv.Error as e:
            raise Invalid({"file": f"第 {reader.line_num} 列：CSV 格式錯誤（{e}）"}, "無法讀取檔案") from None
    return rows(), encoding, lambda: joined.read_bytes


def _sniff_encoding(head: bytes) -> str:
    """UTF-8 (with or without BOM) when the first 64 KB decode as such, else CP950 (Big5), else refused."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    for encoding in ("utf-8", "cp950"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
            return encoding
        except UnicodeDecodeError:
            continue
    raise Invalid({"file": "檔案不是 UTF-8 或 Big5 (CP950) 編碼的 CSV，也不是 .xlsx"}, "無法讀取檔案")


class _Rejoined(io.RawIOBase):
    """The sniffed head followed by the rest of the stream, read as one."""

    def __init__(self, head: bytes, rest: IO[bytes]):
        self.head, self.rest = head, rest
        self.read_bytes = 0  # handed on so far

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n], self.head = self.head[:n], self.head[n:]
            self.read_bytes += n
            return n
        data = self.rest.read(len(buffer))
        buffer[:len(data)] = data
        self.read_bytes += len(data)
        return len(data)


def _xlsx_rows(head: bytes, stream: IO[bytes]) -> tuple[Iterator[tuple[int, list[Any]]], Callable[[], int],
                                                         int | None]:
    from openpyxl import load_workbook  # only for spreadsheets

    # A zip is read from its end: it has to be seekable. A request body is spooled to a temporary file.
    spool = None
    if stream.seekable():
        stream.seek(0)
        source: IO[bytes] = stream
    else:
        source = spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - closed below
        source.write(head)
        shutil.copyfileobj(stream, source)
        source.seek(0)
    try:
        book = load_workbook(source, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        if spool:
            spool.close()
        raise Invalid({"file": f"無法開啟 .xlsx 檔（{e}）"}, "無法讀取檔案") from None
    sheet = book.worksheets[0]
    read = [0]
    try:
        total = sheet.max_row  # from the sheet's dimension element, when it has one
    except (TypeError, ValueError):
        total = None

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for line, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
                read[0] = line
                yield line, list(cells)
        finally:
            book.close()
            if spool:
                spool.close()
    return rows(), lambda: read[0], total if isinstance(total, int) else None


def parse_row(table: Table, line: int, cells: list[Any]) -> LogRow | list[RowError] | None:
    """One data row as a LogRow, or what is wrong with it; None for a row with nothing in its columns."""
    width = len(cells)
    values: dict[str, Any] = {}
    for key, i in table.mapping.items():
        value = cells[i] if i < width else None
        values[key] = (value.strip() or None) if isinstance(value, str) else value
    if all(v is None for v in values.values()):
        return None
    # One look at the whole row for characters no database can keep; the field is named only when needed.
    if text_problem("\t".join(v for v in values.values() if isinstance(v, str))):
        return [RowError(line, _column(table, k), text_problem(v) or "") for k, v in values.items()
                if isinstance(v, str) and text_problem(v)]
    errors = [RowError(line, _column(table, k), "不可空白") for k in REQUIRED if values[k] is None]
    if errors:
        return errors
    when = values["date"]
    day = _parse_date(when)
    if day is None:
        errors.append(RowError(line, _column(table, "date"),
                               f"看不懂的日期「{when}」（例：115/11/30、1151130、2026-11-30）"))
    clock = when.time() if isinstance(when, datetime) else None
    if values.get("time") is not None:
        clock = _parse_time(values["time"])
        if clock is None:
            errors.append(RowError(line, _column(table, "time"), f"看不懂的時間「{values['time']}」（例：14:05:09）"))
    elif isinstance(when, str) and " " in when:
        clock = _parse_time(when.split()[-1])
    item = str(values["item"]).upper()
    if item not in QUERY_ITEMS:
        errors.append(RowError(line, _column(table, "item"), f"不是 WebIR 查調項目代號：「{item}」"))
    account, subject = str(values["account"]), str(values["subject"]).upper()
    problem = _subject_problem(subject)
    if problem:
        errors.append(RowError(line, _column(table, "subject"), problem))
    extra = {k: None if values.get(k) is None else str(values[k]) for k in ("case_number", "reason", "result")}
    for key, value, limit in (("account", account, 80), ("case_number", extra["case_number"], 80),
                              ("result", extra["result"], _MAX_TEXT)):
        if value and len(value) > limit:
            errors.append(RowError(line, _column(table, key), f"超過 {limit} 字"))
    if errors or day is None:
        return errors
    return LogRow(line, account, _moment(day, clock or _MIDNIGHT), item, subject, **extra)


_MIDNIGHT = time(0)


def row_parser(table: Table) -> Callable[[int, list[Any]], LogRow | list[RowError] | None]:
    """``parse_row`` for this table, quicker for the common row: a CSV row of text whose values are all well
    formed takes one lookup of its columns and cached checks; any other row (a spreadsheet's cells, a short or
    blank row, anything to complain about) goes through ``parse_row``, which names each problem."""
    if table.kind == "xlsx":
        return lambda line, cells: parse_row(table, line, cells)
    keys = list(table.mapping)
    columns = itemgetter(*(table.mapping[k] for k in keys))
    width = max(table.mapping.values()) + 1
    at = {k: n for n, k in enumerate(keys)}
    account_at, date_at, item_at, subject_at = at["account"], at["date"], at["item"], at["subject"]
    time_at, case_at, reason_at, result_at = (at.get(k) for k in ("time", "case_number", "reason", "result"))
    unsafe = UNSAFE_TEXT_PATTERN.search
    items = QUERY_ITEMS

    def parse(line: int, cells: list[Any]) -> LogRow | list[RowError] | None:
        if len(cells) >= width:
            values = columns(cells)
            if not unsafe("\t".join(values)):
                account, day_text = values[account_at].strip(), values[date_at].strip()
                item, subject = values[item_at].strip().upper(), values[subject_at].strip().upper()
                start = _day_start(day_text) if day_text and " " not in day_text else None
                seconds = _seconds(values[time_at].strip()) if time_at is not None else 0
                case = values[case_at].strip() or None if case_at is not None else None
                reason = values[reason_at].strip() or None if reason_at is not None else None
                result = values[result_at].strip() or None if result_at is not None else None
                if (start is not None and seconds is not None and account and len(account) <= 80 and item in items
                        and subject and _subject_problem(subject) is None and (case is None or len(case) <= 80)
                        and (result is None or len(result) <= _MAX_TEXT)):
                    return LogRow(line, account, start + _SECONDS[seconds], item, subject, case, reason, result)
        return parse_row(table, line, cells)
    return parse


_SECONDS = [timedelta(seconds=n) for n in range(86400)]


@lru_cache(maxsize=8192)
def _day_start(text: str) -> datetime | None:
    """The start of a logged day in UTC, when every second of it is that start plus the seconds (no change of
    Taipei's offset that day); None sends the row to the slow path."""
    day = parse_roc_or_iso(text)
    if day is None:
        return None
    start = datetime.combine(day, _MIDNIGHT, tzinfo=TAIPEI)
    end = datetime.combine(day, time(23, 59, 59), tzinfo=TAIPEI)
    if start.utcoffset() != end.utcoffset():
        return None
    return start.astimezone(UTC)


@lru_cache(maxsize=100_000)
def _seconds(text: str) -> int | None:
    """A logged time as seconds into the day; blank is midnight."""
    if not text:
        return 0
    clock = _time_from_text(text)
    return None if clock is None else clock.hour * 3600 + clock.minute * 60 + clock.second


def _column(table: Table, key: str) -> str:
    return table.header[table.mapping[key]] or FIELDS[key][0]


@lru_cache(maxsize=65536)
def _subject_problem(subject: str) -> str | None:
    """What is wrong with the 查詢條件; an ID number's check digit is checked, other conditions pass."""
    if len(subject) > 20:
        return "太長"
    if _ID_LIKE.match(subject):
        try:
            national_id(subject)
        except ValueError as e:
            return str(e)
    return None


@lru_cache(maxsize=65536)
def _moment(day: date, clock: time) -> datetime:
    """The Taipei wall-clock moment, in UTC (a log repeats its days and seconds)."""
    return datetime.combine(day, clock, tzinfo=TAIPEI).astimezone(UTC)


def _blank(value: Any) -> bool:
    return value is None or str(value).strip() == ""


def _text(value: Any) -> str | None:
    return None if _blank(value) else str(value).strip()


@lru_cache(maxsize=4096)
def parse_roc_or_iso(text: str) -> date | None:
    """115/11/30, 115-11-30, 1151130, 991130 (ROC) or 2026-11-30, 20261130 (Gregorian)."""
    text = text.strip().split()[0] if text.strip() else ""
    day = None
    try:
        if m := _ISO.match(text):
            day = date(int(m[1]), int(m[2]), int(m[3]))
        elif m := _ROC_SLASHED.match(text):
            day = date(int(m[1]) + 1911, int(m[2]), int(m[3]))
        elif text.isdigit() and len(text) == 8:
            day = date(int(text[:4]), int(text[4:6]), int(text[6:]))
        elif text.isdigit() and len(text) in (6, 7):
            day = date(int(text[:-4]) + 1911, int(text[-4:-2]), int(text[-2:]))
    except ValueError:
        return None
    return day if day and FIRST_DATE <= day <= LAST_DATE else None


def _parse_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value if FIRST_DATE <= value <= LAST_DATE else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(int(value))
    return parse_roc_or_iso(str(value))


def _parse_time(value: Any) -> time | None:
    if isinstance(value, datetime):
        return value.time()
    if isinstance(value, time):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _time_from_text(f"{int(value):06d}" if value >= 10000 else f"{int(value):04d}")
    return _time_from_text(str(value).strip())


@lru_cache(maxsize=100_000)
def _time_from_text(text: str) -> time | None:
    """14:05:09, 14:05 or 140509 / 1405."""
    try:
        if ":" in text:
            parts = [int(p) for p in text.split(":")]
            return time(*parts[:3])
        if text.isdigit() and len(text) in (4, 6):
            return time(int(text[:2]), int(text[2:4]), int(text[4:6] or 0))
    except (ValueError, TypeError):
        return None
    return None
