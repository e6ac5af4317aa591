"""組織管理 (administrators): agencies and their kinds, the unit tree, people, roles, delegates, and the
personnel spreadsheet import with its preview."""

from __future__ import annotations

import io
import re
import secrets
import time
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user

from workflows.calendar import local_date
from workflows.org import agencies, people, reads, roles
from workflows.org.imports import import_people
from workflows.oversight.bases import list_bases

from .. import clock
from ..admin import admin_required
from ..errors import back_to
from ..extensions import db
from ..i18n import _
from ..inputs import body_limit
from ..spreadsheet import neutralise_rows

bp = Blueprint("org", __name__, url_prefix="/org")
MAX_IMPORT_BYTES = 10 * 1024 * 1024
TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")


def _today():
    return local_date(clock.now())


def _int(name: str) -> int | None:
    value = request.form.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


@bp.get("/")
@admin_required
def index():
    return render_template("org/index.html", agencies=reads.list_agencies(db.session, actor=current_user),
                           kinds=agencies.KIND_LABELS)


@bp.post("/agencies")
@admin_required
@back_to("org.index")
def create_agency():
    agency = agencies.create_agency(db.session, code=request.form.get("code", ""), name=request.form.get("name", ""),
                                    kinds=request.form.getlist("kinds"), city=request.form.get("city", ""),
                                    actor=current_user, now=clock.now())
    flash(_("已新增機關 %(name)s", name=agency.name), "success")
    return redirect(url_for(".agency", code=agency.code))


@bp.get("/agencies/<code>")
@admin_required
def agency(code: str):
    row = reads.get_agency_row(db.session, code, actor=current_user)
    staff = reads.list_people(db.session, agency_code=code, today=_today(), actor=current_user)
    return render_template("org/agency.html", agency=row, people=staff, kinds=agencies.KIND_LABELS,
                           bases=list_bases(db.session, code))


@bp.get("/agencies/<code>/people.xlsx")
@admin_required
def export_people(code: str):
    """The agency's people in the import's format (cells that look like formulas stay text)."""
    from openpyxl import Workbook

    book = Workbook()
    for row in neutralise_rows(reads.export_people(db.session, code, today=_today(), actor=current_user)):
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    return send_file(buffer, as_attachment=True, download_name=f"people-{code}-{_today()}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.post("/agencies/<code>/kinds")
@admin_required
@back_to("org.agency")
def agency_kinds(code: str):
    agencies.update_agency(db.session, code, name=request.form.get("name"), kinds=request.form.getlist("kinds"),
                           actor=current_user, now=clock.now())
    flash(_("已更新機關資料"), "success")
    return redirect(url_for(".agency", code=code))


@bp.post("/agencies/<code>/units")
@admin_required
@back_to("org.agency")
def create_unit(code: str):
    unit = agencies.create_unit(db.session, agency_code=code, name=request.form.get("name", ""),
                                parent_id=_int("parent"), actor=current_user, now=clock.now())
    flash(_("已新增單位 %(name)s", name=unit.name), "success")
    return redirect(url_for(".agency", code=code))


@bp.post("/agencies/<code>/people")
@admin_required
@back_to("org.agency")
def create_person(code: str):
    values = {k: request.form.get(k, "") for k in people.PERSON_FIELDS}
    person = people.create_person(db.session, values=values, agency_code=code, unit_id=_int("unit"),
                                  password=request.form.get("password") or None, actor=current_user, now=clock.now())
    flash(_("已新增人員 %(name)s", name=person.name), "success")
    return redirect(url_for(".person", username=person.username))


@bp.get("/people/<username>")
@admin_required
def person(username: str):
    row = reads.get_person_row(db.session, username, today=_today(), actor=current_user)
    agency_row = reads.get_agency_row(db.session, row.agency, actor=current_user)
    colleagues = reads.list_people(db.session, agency_code=row.agency, today=_today(), actor=current_user)
    return render_template("org/person.html", person=row, agency=agency_row, roles=roles.ROLE_CHOICES,
                           delegable=roles.DELEGABLE_CHOICES, colleagues=[p for p in colleagues
                                                                  if p.active and p.username != username],
                           statuses=people.STATUS_LABELS)


@bp.post("/people/<username>")
@admin_required
@back_to("org.person")
def update_person(username: str):
    values = {k: request.form.get(k, "") for k in people.PERSON_FIELDS if k != "username"}
    values[people.CONTRACTOR] = people.CONTRACTOR in request.form
    people.update_person(db.session, username, values=values, unit_id=_int("unit"), actor=current_user,
                         now=clock.now())
    flash(_("已更新人員資料"), "success")
    return redirect(url_for(".person", username=username))


@bp.post("/people/<username>/password")
@admin_required
@back_to("org.person")
def set_password(username: str):
    people.set_password(db.session, username, password=request.form.get("password", ""), actor=current_user,
                        now=clock.now())
    flash(_("已設定密碼；此人員原有的登入已結束"), "success")
    return redirect(url_for(".person", username=username))


@bp.post("/people/<username>/status")
@admin_required
@back_to("org.person")
def set_status(username: str):
    moved = people.set_status(db.session, username, status=request.form.get("status", ""),
                              on=roles.parse_date(request.form.get("on"), "on"), actor=current_user, now=clock.now())
    flash(_("已更新在職狀態；移轉待辦 %(count)s 件", count=len(moved)), "success")
    return redirect(url_for(".person", username=username))


@bp.post("/people/<username>/roles")
@admin_required
@back_to("org.person")
def grant_role(username: str):
    roles.grant_role(db.session, username, role=request.form.get("role", ""), unit_id=_int("unit"),
                     valid_from=request.form.get("valid_from"), valid_until=request.form.get("valid_to"),
                     actor=current_user, now=clock.now())
    flash(_("已授予角色"), "success")
    return redirect(url_for(".person", username=username))


@bp.post("/people/<username>/roles/<int:holding_id>/end")
@admin_required
@back_to("org.person")
def end_role(username: str, holding_id: int):
    roles.end_role(db.session, holding_id, on=request.form.get("on") or _today().isoformat(), actor=current_user,
                   now=clock.now())
    flash(_("已結束角色"), "success")
    return redirect(url_for(".person", username=username))


@bp.post("/people/<username>/delegates")
@admin_required
@back_to("org.person")
def add_delegate(username: str):
    roles.add_delegate(db.session, username, delegate=request.form.get("delegate", ""),
                       role=request.form.get("role", ""), valid_from=request.form.get("valid_from"),
                       valid_until=request.form.get("valid_to"), actor=current_user, now=clock.now())
    flash(_("已新增授權人員"), "success")
    return redirect(url_for(".person", username=username))


@bp.post("/people/<username>/delegates/<int:delegation_id>/end")
@admin_required
@back_to("org.person")
def end_delegate(username: str, delegation_id: int):
    roles.end_delegate(db.session, delegation_id, actor=current_user, now=clock.now())
    flash(_("已取消授權"), "success")
    return redirect(url_for(".person", username=username))


# ---------------------------------------------------------------- the spreadsheet import

def _upload_path(token: str) -> Path:
    """Where an uploaded file waits between its preview and its apply: the uploader's own, by a random token."""
    if not TOKEN.fullmatch(token):
        abort(404)
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{current_user.id}-{token}.upload"


def _uploaded(token: str) -> bytes:
    path = _upload_path(token)
    if not path.exists():
        flash(_("找不到上傳的檔案，請重新上傳"), "error")
        abort(redirect(url_for(".import_page")))
    return path.read_bytes()


@bp.get("/import")
@admin_required
def import_page():
    return render_template("org/import.html", report=None, token=None, missing=False)


@bp.post("/import")
@admin_required
@body_limit(MAX_IMPORT_BYTES)
def upload():
    """Keep the file and show its preview; a script asking for JSON gets the preview's address instead."""
    file = request.files.get("file")
    data = file.read() if file else b""
    if not data:
        flash(_("請選擇要匯入的檔案"), "error")
        return redirect(url_for(".import_page"))
    token = secrets.token_urlsafe(16)
    path = _upload_path(token)
    for stale in path.parent.glob("*.upload"):  # files previewed and never applied go after a day
        if stale.stat().st_mtime < time.time() - 86_400:
            stale.unlink(missing_ok=True)
    path.write_bytes(data)
    target = url_for(".preview", token=token, missing="1" if request.form.get("deactivate_missing") else None)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(preview=target)
    return redirect(target, 303)


@bp.get("/import/<token>")
@admin_required
def preview(token: str):
    missing = request.args.get("missing") == "1"
    report = import_people(db.session, _uploaded(token), dry_run=True, deactivate_missing=missing,
                           actor=current_user, now=clock.now())
    return render_template("org/import.html", report=report, token=token, missing=missing)


@bp.post("/import/<token>")
@admin_required
def apply(token: str):
    missing = request.form.get("missing") == "1"
    report = import_people(db.session, _uploaded(token), dry_run=False, deactivate_missing=missing,
                           actor=current_user, now=clock.now())
    if report.applied:
        _upload_path(token).unlink(missing_ok=True)
    return render_template("org/import.html", report=report, token=None if report.applied else token,
                           missing=missing), 200 if report.applied else 422
