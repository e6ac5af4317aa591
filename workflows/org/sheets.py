"""Read a personnel office's export: CSV (UTF-8 with or without BOM, or Big5 / CP950) or .xlsx, as text cells.

Cells are data. A formula in an .xlsx cell is never evaluated: the cell is refused with its line and column.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 20_000

# Column headers as personnel offices write them, to the field each one fills.
HEADERS = {
    "username": ("帳號", "使用者帳號", "登入帳號", "username", "account"),
    "name": ("姓名", "name"),
    "title": ("職稱", "title"),
    "email": ("電子郵件", "電子信箱", "email", "e-mail"),
    "staff_number": ("員工編號", "人員編號", "staff_number", "staff number", "staffno"),
    "agency": ("機關代碼", "機關", "機關名稱", "agency", "agency_code"),
    "unit": ("單位", "單位名稱", "unit"),
    "role": ("角色", "role", "roles"),
    "valid_from": ("生效日", "起日", "valid_from", "from"),
    "valid_until": ("迄日", "到期日", "valid_to", "valid_until", "to"),
    "status": ("狀態", "在職狀態", "status"),
    "status_on": ("離職日", "退休日", "狀態日期", "status_on"),
    "is_contractor": ("委外人員", "委外廠商人員", "is_contractor", "contractor"),
}
_BY_HEADER = {text.lower(): name for name, texts in HEADERS.items() for text in texts}


@dataclass
class Problem:
    row: int  # the line in the file (the header is line 1)
    column: str | None  # the header as written in the file
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class Sheet:
    columns: dict[str, str] = field(default_factory=dict)  # field → header text as written
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # (line, {field: cell text})
    problems: list[Problem] = field(default_factory=list)


def is_xlsx(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def decode_csv(data: bytes) -> str:
    """UTF-8 (a BOM dropped) when it decodes as UTF-8, else Big5 as Windows writes it (CP950)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp950")


def _csv_rows(data: bytes):
    text = decode_csv(data)
    for line, cells in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        yield line, [(c, False) for c in cells]


def _cell_text(value) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _xlsx_rows(data: bytes):
    from openpyxl import load_workbook  # only an .xlsx needs it

    # Read-only streams the rows; formulas come back as their text (data_type "f") and are never computed.
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        for line, cells in enumerate(book.worksheets[0].iter_rows(), start=1):
            yield line, [(_cell_text(c.value), getattr(c, "data_type", None) == "f") for c in cells]
    finally:
        book.close()


def read_sheet(data: bytes) -> Sheet:
    """The file's header and rows; an unreadable file or a missing column is a problem on line 1."""
    sheet = Sheet()
    try:
        rows = _xlsx_rows(data) if is_xlsx(data) else _csv_rows(data)
        header: list[str | None] | None = None
        for line, cells in rows:
            if header is None:
                header = _header(sheet, [c for c, _ in cells])
                continue
            if line > MAX_ROWS + 1:
                sheet.problems.append(Problem(line, None, f"檔案超過 {MAX_ROWS} 列，請分批匯入"))
                break
            _row(sheet, line, header, cells)
    except (UnicodeDecodeError, csv.Error, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        sheet.problems.append(Problem(1, None, f"無法讀取檔案（請存成 CSV 或 .xlsx）：{type(exc).__name__}"))
        return sheet
    if header is None:
        sheet.problems.append(Problem(1, None, "檔案是空的"))
    return sheet


def _header(sheet: Sheet, texts: list[str]) -> list[str | None]:
    fields: list[str | None] = []
    for text in texts:
        name = _BY_HEADER.get(text.strip().lstrip("\ufeff").lower())
        if name in sheet.columns:
            sheet.problems.append(Problem(1, text, f"欄位重複（已有「{sheet.columns[name]}」）"))
            name = None
        elif name:
            sheet.columns[name] = text.strip()
        fields.append(name)
    for name, label in (("name", "姓名"), ("agency", "機關代碼")):
        if name not in sheet.columns:
            sheet.problems.append(Problem(1, label, f"缺少「{label}」欄"))
    if "username" not in sheet.columns and "staff_number" not in sheet.columns:
        sheet.problems.append(Problem(1, "帳號", "缺少「帳號」或「員工編號」欄"))
    return fields


def _row(sheet: Sheet, line: int, header: list[str | None], cells: list[tuple[str, bool]]) -> None:
    values: dict[str, str] = {}
    for name, (text, formula) in zip(header, cells, strict=False):
        if name is None:
            continue
        if formula:
            sheet.problems.append(Problem(line, sheet.columns[name], "儲存格是公式，請改填數值（公式不予計算）"))
            continue
        values[name] = text.strip()
    if any(values.values()):  # blank lines between blocks are skipped
        sheet.rows.append((line, values))
