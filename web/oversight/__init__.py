"""Query logs for people: import a WebIR download (preview, correct the columns, import), the reconciliation
list with its flags answered, the month's sample as a print list, the legal-basis table."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from workflows.errors import Forbidden, Invalid
from workflows.oversight.bases import list_bases
from workflows.oversight.flags import FLAG_WORDS, answer_flag
from workflows.oversight.imports import (
    ImportView,
    get_import,
    import_query_logs,
    importable_agencies,
    preview_query_logs,
    queue_import,
)
from workflows.oversight.logfile import FIELDS, parse_roc_or_iso
from workflows.oversight.reads import LogFilters, list_query_logs, reads_query_logs
from workflows.oversight.sampling import check_sample_row, get_sample_sheet

from .. import clock
from ..errors import back_to
from ..extensions import db
from ..header import request_holdings
from ..i18n import _, _l
from ..inputs import body_limit
from ..numbers import small_int
from . import jobs

bp = Blueprint("oversight", __name__, url_prefix="/query-logs")
MAX_LOG_FILE = 1024 * 1024 * 1024
FLAG_LABELS = {name: _l(words) for name, words in FLAG_WORDS.items()}
FIELD_LABELS = {
    "account": _l("使用者帳號"), "date": _l("查詢日期"), "time": _l("查詢時間"), "item": _l("作業代號"),
    "subject": _l("查詢條件"), "case_number": _l("案號"), "reason": _l("查詢事由"), "result": _l("查詢結果"),
}
_UPLOAD = "query_log_upload"


def init(app) -> None:
    @app.context_processor
    def reading_logs():
        """``may_read_logs()`` for the header link; asked only when a page renders the header."""
        def may_read_logs() -> bool:
            return current_user.is_authenticated and reads_query_logs(db.session, current_user, clock.now(),
                                                                      request_holdings())
        return {"may_read_logs": may_read_logs}


def _day(name: str):
    text = request.args.get(name, "").strip()
    return parse_roc_or_iso(text) if text else None


@bp.get("/")
@login_required
def logs():
    args = request.args
    flag = args.get("flag") or None
    filters = LogFilters(flag=flag if flag in FLAG_LABELS else None, account=args.get("account") or None,
                         date_from=_day("from"), date_to=_day("to"), unexplained=args.get("unexplained") == "1")
    try:
        page = list_query_logs(db.session, current_user, clock.now(), filters,
                               page=max(1, args.get("page", 1, type=small_int)))
    except Forbidden:
        abort(403)
    pages = max(1, -(-page.total // page.per_page))
    return render_template("oversight/logs.html", result=page, pages=pages, flags=FLAG_LABELS, args=args,
                           may_import=bool(importable_agencies(db.session, current_user, clock.now())))


@bp.post("/<int:log_id>/flags/<flag>")
@login_required
@back_to("oversight.logs")
def answer(log_id: int, flag: str):
    action = request.form.get("action", "")
    answer_flag(db.session, log_id=log_id, flag=flag, action=action, reason=request.form.get("reason", ""),
                actor=current_user, now=clock.now(), major=request.form.get("major") == "1")
    flash(_("已記錄處理結果，並開啟違規案件") if action == "violation" else _("已記錄處理結果"), "success")
    return redirect(request.form.get("next") or url_for("oversight.logs"))


def _stored_upload() -> tuple[Path, dict] | None:
    kept = session.get(_UPLOAD)
    if not kept or not str(kept.get("token", "")).isalnum():
        return None
    path = jobs.upload_dir(current_app) / f"{kept['token']}.upload"
    return (path, kept) if path.exists() else None


def _mapping_from_form() -> dict[str, str] | None:
    mapping = {k: request.form.get(f"map_{k}", "") for k in FIELDS if f"map_{k}" in request.form}
    return mapping or None


@bp.route("/import", methods=["GET", "POST"])
@login_required
@body_limit(MAX_LOG_FILE)
@back_to("oversight.import_page")
def import_page():
    agencies = importable_agencies(db.session, current_user, clock.now())
    if not agencies:
        abort(403)
    preview = result = None
    if request.method == "POST" and request.files.get("file"):
        old = _stored_upload()
        if old:
            old[0].unlink(missing_ok=True)
        token = secrets.token_hex(16)
        with open(jobs.upload_dir(current_app) / f"{token}.upload", "wb") as out:
            os.chmod(out.name, 0o600)
            shutil.copyfileobj(request.files["file"].stream, out)
        session[_UPLOAD] = {"token": token, "name": (request.files["file"].filename or "upload")[:200],
                            "agency": request.form.get("agency", "")}
    stored = _stored_upload()
    if request.method == "POST" and stored:
        path, kept = stored
        mapping = _mapping_from_form()
        large = path.stat().st_size > current_app.config["QUERY_LOG_BACKGROUND_BYTES"]
        if request.form.get("do") == "import" and large:
            return _import_in_background(path, kept, mapping)
        if request.form.get("do") == "import":
            with open(path, "rb") as f:
                result = import_query_logs(db.session, agency_code=kept["agency"], stream=f, file_name=kept["name"],
                                           actor=current_user, now=clock.now(), mapping=mapping)
            if result.stored:
                path.unlink(missing_ok=True)
                session.pop(_UPLOAD, None)
        else:
            with open(path, "rb") as f:
                try:
                    preview = preview_query_logs(f, mapping)
                except Invalid as e:
                    path.unlink(missing_ok=True)
                    session.pop(_UPLOAD, None)
                    raise e
    return render_template("oversight/import.html", agencies=agencies, preview=preview, result=result,
                           upload=stored[1] if stored and not (result and result.stored) else None,
                           fields=FIELD_LABELS)


def _import_in_background(path: Path, kept: dict, mapping: dict[str, str] | None):
    """A large file: checked and queued now, read by a background job; its page shows the progress."""
    with open(path, "rb") as f:
        job = queue_import(db.session, agency_code=kept["agency"], stream=f, file_name=kept["name"],
                           size=path.stat().st_size, actor=current_user, now=clock.now(), mapping=mapping)
    job_id = job.id
    session.pop(_UPLOAD, None)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    jobs.start(app, job_id, jobs.hand_over(app, job_id, path))
    return redirect(url_for("oversight.import_status", import_id=job_id))


def job_text(job: ImportView) -> str:
    """The job's state in a sentence, for the page (read out as it changes) and its polling."""
    if job.state == "queued":
        return _("等待開始匯入…")
    if job.state == "running":
        if job.percent is None:
            return _("匯入中：已讀取 %(rows)s 列", rows=f"{job.rows:,}")
        return _("匯入中：已讀取 %(rows)s 列（%(percent)s%%）", rows=f"{job.rows:,}", percent=job.percent)
    summary = _("共 %(rows)s 列：新增 %(new)s 筆，重複 %(duplicates)s 筆，錯誤 %(errors)s 列。", rows=f"{job.rows:,}",
                new=f"{job.new:,}", duplicates=f"{job.duplicates:,}", errors=f"{job.error_count:,}")
    if job.state == "done":
        return _("匯入完成") + "：" + summary
    return _("未匯入") + "：" + _("沒有儲存任何一列。") + (job.message or summary)


@bp.get("/imports/<int:import_id>")
@login_required
def import_status(import_id: int):
    job = get_import(db.session, import_id, current_user, clock.now())
    if request.accept_mimetypes.best == "application/json":
        return jsonify({**jobs.job_json(job), "text": job_text(job)})
    return render_template("oversight/import_status.html", job=job, text=job_text(job))


@bp.get("/sampling/<int:draw_id>")
@login_required
def sample(draw_id: int):
    sheet = get_sample_sheet(db.session, draw_id, current_user, clock.now())
    return render_template("oversight/sample.html", sheet=sheet, flags=FLAG_LABELS)


@bp.post("/sampling/<int:draw_id>/rows/<int:log_id>")
@login_required
@back_to("oversight.sample")
def tick(draw_id: int, log_id: int):
    check_sample_row(db.session, draw_id=draw_id, log_id=log_id, verdict=request.form.get("verdict", ""),
                     note=request.form.get("note", ""), actor=current_user, now=clock.now())
    flash(_("已記錄抽查結果"), "success")
    return redirect(url_for("oversight.sample", draw_id=draw_id))


@bp.get("/legal-bases")
@login_required
def bases():
    return render_template("oversight/bases.html", bases=list_bases(db.session))
