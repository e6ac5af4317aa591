"""The WebIR account roster of an agency, as a page and as an .xlsx for 勞保局's audit (001 §12(5))."""

from __future__ import annotations

import io

from flask import Blueprint, render_template, request, send_file
from flask_login import current_user, login_required

from workflows.accounts.roster import KIND_LABELS, STATUS_LABELS, Roster, export_roster, get_roster, roster_agencies

from .. import clock
from ..extensions import db
from ..filters import roc_date
from ..i18n import _, tr
from ..spreadsheet import neutralise_rows

bp = Blueprint("accounts", __name__, url_prefix="/accounts")


def init(app) -> None:
    @app.context_processor
    def roster_link():
        """``may_see_roster()`` for the header link; asked only when a page renders the header."""
        def may_see_roster() -> bool:
            return current_user.is_authenticated and bool(roster_agencies(db.session, current_user, clock.today()))
        return {"may_see_roster": may_see_roster}


@bp.get("/")
@login_required
def roster():
    sheet = get_roster(db.session, current_user, request.args.get("agency") or None, clock.now())
    return render_template("accounts/roster.html", roster=sheet, KIND_LABELS=KIND_LABELS, STATUS_LABELS=STATUS_LABELS,
                           agencies=roster_agencies(db.session, current_user, clock.today()))


def _sheet(sheet: Roster):
    header = [_("帳號使用者"), _("姓名"), _("單位"), _("帳號類別"), _("我的e政府帳號"), _("狀態"), _("生效日期"),
              _("停用日期"), _("查調項目"), _("項目核准日期"), _("依據申請案號")]
    rows = [header]
    for r in sheet.rows:
        items = r.items or [None]
        for item in items:
            rows.append([r.username, r.name, r.unit or "", tr(KIND_LABELS[r.kind]), r.egov_account,
                         tr(STATUS_LABELS[r.status]), roc_date(r.effective_on),
                         roc_date(r.disabled_on or (r.valid_until if r.status == "disabled" else None)),
                         f"{item.code} {tr(item.name)}" if item else "", roc_date(item.since) if item else "",
                         (item.application_id if item and item.application_id else r.application_id) or ""])
    return neutralise_rows(rows)


@bp.get("/roster.xlsx")
@login_required
def export_xlsx():
    from openpyxl import Workbook

    sheet = export_roster(db.session, current_user, request.args.get("agency") or None, clock.now())
    book = Workbook()
    page = book.active
    page.title = _("帳號清冊")
    for row in _sheet(sheet):
        page.append(row)
    page.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    name = f"webir-accounts-{sheet.agency_code}-{clock.today()}.xlsx"
    return send_file(buffer, as_attachment=True, download_name=name,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
