"""WebIR query-log downloads as people bring them: Big5 CSV and .xlsx, ROC dates, varying headers."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from openpyxl import Workbook

CSV_HEADER = ["使用者帳號", "查詢日期", "查詢時間", "作業代號", "查詢條件", "案號", "查詢事由", "查詢結果"]
# Another download's wording and column order.
XLSX_HEADER = ["查詢結果", "使用者代號", "日期", "時間", "作業代碼", "查詢對象", "案件編號", "事由"]


def roc(moment: datetime, compact: bool = False) -> str:
    year = moment.year - 1911
    return f"{year}{moment:%m%d}" if compact else f"{year}/{moment:%m/%d}"


def csv_bytes(rows: list[list[str]], *, encoding: str = "cp950", header=CSV_HEADER, title: bool = True) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    if title:
        writer.writerow(["勞保 WebIR 查詢紀錄下載"])
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[str]]) -> bytes:
    """The same rows in the other download's order, ROC dates written compact (1151126)."""
    book = Workbook()
    sheet = book.active
    sheet.append(XLSX_HEADER)
    for account, day, clock, item, subject, case, reason, result in rows:
        compact = day.replace("/", "") if "/" in day else day
        sheet.append([result, account, compact, clock, item, subject, case, reason])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
