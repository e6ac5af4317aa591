"""Query logs as JSON: import a WebIR download, list rows with their flags, answer a flag; the legal-basis
table; the monthly sample and its checks."""

from __future__ import annotations

import os
import secrets
import shutil

from flask import current_app, g, jsonify, request, url_for

from workflows.errors import Invalid
from workflows.oversight.bases import add_basis, list_bases, retire_basis
from workflows.oversight.flags import answer_flag
from workflows.oversight.imports import (
    ImportResult,
    get_agency,
    get_import,
    import_query_logs,
    preview_query_logs,
    queue_import,
)
from workflows.oversight.logfile import FIELDS, parse_roc_or_iso
from workflows.oversight.reads import LogFilters, LogView, list_query_logs
from workflows.oversight.sampling import check_sample_row, draw_sample, get_sample_sheet
from workflows.oversight.violations import CaseRow, case_rows, raise_sampling_violation, start_joint_audit

from .. import clock
from ..extensions import db
from ..inputs import body_limit
from ..numbers import small_int
from ..oversight import jobs
from . import bp, json_body, token_required
from .routes import check_numbers

MAX_LOG_FILE = 1024 * 1024 * 1024  # a year of a large agency's downloads; read as a stream


def upload():
    """The file: a multipart field ``file``, or the body itself; its name and the mapping's corrections."""
    if request.files.get("file"):
        f = request.files["file"]
        return f.stream, f.filename or "upload"
    return request.stream, request.args.get("name", "upload")


def mapping_override() -> dict[str, str] | None:
    """?map_subject=備註: the manager's correction of the columns found by header text."""
    found = {k[4:]: v for k, v in request.args.items() if k.startswith("map_")}
    unknown = [k for k in found if k not in FIELDS]
    if unknown:
        raise Invalid({f"map_{k}": "可用：" + "、".join(f"map_{f}" for f in FIELDS) for k in unknown})
    return found or None


def import_json(result: ImportResult) -> dict:
    return {"rows": result.rows, "new": result.new, "duplicates": result.duplicates,
            "errors": [{"row": e.row, "column": e.column, "message": e.message} for e in result.errors],
            "error_count": result.error_count, "mapping": result.mapping, "stored": result.stored,
            "import": result.import_id}


@bp.post("/query-logs")
@body_limit(MAX_LOG_FILE)
@token_required
def import_logs():
    stream, name = upload()
    agency = request.args.get("agency", "")
    if not agency:
        raise Invalid({"agency": "give the agency code, e.g. ?agency=KHH-SW"})
    dry_run = request.args.get("dry_run") in ("1", "true")
    background = request.args.get("background", "")
    if background not in ("", "0", "1", "true", "false"):
        raise Invalid({"background": "1 (a job: 202 and its address), 0 (in the request), or leave it out"})
    large = (request.content_length or 0) > current_app.config["QUERY_LOG_BACKGROUND_BYTES"]
    if not dry_run and (background in ("1", "true") or (large and background == "")):
        return _import_in_background(stream, name, agency)
    result = import_query_logs(db.session, agency_code=agency, stream=stream, file_name=name, actor=g.actor,
                               now=clock.now(), dry_run=dry_run, mapping=mapping_override())
    response = jsonify(import_json(result))
    response.status_code = 422 if result.error_count else 201 if result.stored else 200
    return response


def _import_in_background(stream, name: str, agency: str):
    """The body kept in the instance folder, checked and queued; a job reads it. 202 with the job's address."""
    path = jobs.upload_dir(current_app) / f"api-{secrets.token_hex(16)}.upload"
    with open(path, "wb") as out:
        os.chmod(out.name, 0o600)
        shutil.copyfileobj(stream, out)
    try:
        with open(path, "rb") as f:
            job = queue_import(db.session, agency_code=agency, stream=f, file_name=name, size=path.stat().st_size,
                               actor=g.actor, now=clock.now(), mapping=mapping_override())
    except Exception:
        path.unlink(missing_ok=True)
        raise
    job_id = job.id
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    jobs.start(app, job_id, jobs.hand_over(app, job_id, path))
    response = jsonify(jobs.job_json(get_import(db.session, job_id, g.actor, clock.now())))
    response.status_code = 202
    response.headers["Location"] = url_for("api.query_log_import", import_id=job_id)
    return response


@bp.get("/query-logs/imports/<int:import_id>")
@token_required
def query_log_import(import_id: int):
    return jsonify(jobs.job_json(get_import(db.session, import_id, g.actor, clock.now())))


@bp.post("/query-logs/preview")
@body_limit(MAX_LOG_FILE)
@token_required
def preview_logs():
    stream, _name = upload()
    preview = preview_query_logs(stream, mapping_override())
    return jsonify(header=preview.header, header_line=preview.header_line, mapping=preview.mapping,
                   sample=preview.sample, kind=preview.kind,
                   fields={k: label for k, (label, _v) in FIELDS.items()})


def log_json(v: LogView) -> dict:
    return {"id": v.id, "agency": v.agency, "account": v.account, "queried_at": v.queried_at.isoformat(),
            "item": v.item_code, "subject": v.subject, "case_number": v.case_number, "reason": v.reason,
            "result": v.result, "registration": v.registration_id, "registration_line": v.registration_line,
            "flags": v.flags,
            "notes": {flag: {"action": a, "reason": r} for flag, (a, r) in v.notes.items()}}


def _day(name: str):
    text = request.args.get(name)
    if not text:
        return None
    day = parse_roc_or_iso(text)
    if day is None:
        raise Invalid({name: "a date: 2026-11-30, 115/11/30 or 1151130"})
    return day


@bp.get("/query-logs")
@token_required
def query_logs():
    args = request.args
    check_numbers(args, "page", "per_page")
    filters = LogFilters(flag=args.get("flag") or None, account=args.get("account") or None,
                         agency=args.get("agency") or None, date_from=_day("from"), date_to=_day("to"),
                         unexplained=args.get("unexplained") in ("1", "true"))
    page = list_query_logs(db.session, g.actor, clock.now(), filters,
                           page=max(1, args.get("page", 1, type=small_int)),
                           per_page=min(200, max(1, args.get("per_page", 50, type=small_int))))
    return jsonify(total=page.total, page=page.page, per_page=page.per_page, items=[log_json(v) for v in page.items])


@bp.post("/query-logs/<int:log_id>/flags/<flag>")
@token_required
def answer_log_flag(log_id: int, flag: str):
    body = json_body()
    note = answer_flag(db.session, log_id=log_id, flag=flag, action=str(body.get("action", "")),
                       reason=str(body.get("reason", "")), actor=g.actor, now=clock.now(),
                       major=body.get("major") is True)
    cases = [c.application_id for c in case_rows(db.session, g.actor, clock.now(), log_id=log_id)
             if c.flag == note.flag] if note.action == "violation" else []
    response = jsonify(flag=note.flag, action=note.action, reason=note.reason, case=cases[0] if cases else None)
    response.status_code = 201
    return response


@bp.get("/legal-bases")
@token_required
def legal_bases():
    return jsonify([{"id": b.id, "agency": b.agency_code, "agency_name": b.agency, "statute": b.statute,
                     "purpose": b.purpose, "active": b.active, "admission": b.admission_id}
                    for b in list_bases(db.session, request.args.get("agency") or None)])


@bp.post("/legal-bases")
@token_required
def add_legal_basis():
    body = json_body()
    basis = add_basis(db.session, agency_code=str(body.get("agency", "")), statute=str(body.get("statute", "")),
                      purpose=str(body.get("purpose", "")), actor=g.actor, now=clock.now())
    response = jsonify(id=basis.id, statute=basis.statute)
    response.status_code = 201
    return response


@bp.post("/legal-bases/<int:basis_id>/retire")
@token_required
def retire_legal_basis(basis_id: int):
    basis = retire_basis(db.session, basis_id=basis_id, actor=g.actor, now=clock.now())
    return jsonify(id=basis.id, active=basis.active)


def _month(text: str):
    day = parse_roc_or_iso(f"{text}-01" if len(text) == 7 else text) if text else None
    if day is None:
        raise Invalid({"month": "a month: 2026-11"})
    return day


@bp.post("/sampling")
@token_required
def draw_month_sample():
    body = json_body()
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31):
        raise Invalid({"seed": "a whole number from 0 to 2147483647"})
    draw = draw_sample(db.session, agency=get_agency(db.session, str(body.get("agency", ""))),
                       month=_month(str(body.get("month", ""))), actor=g.actor, now=clock.now(), seed=seed)
    response = jsonify(id=draw.id, seed=draw.seed, population=draw.population, drawn=len(draw.log_ids))
    response.status_code = 201
    return response


@bp.get("/sampling/<int:draw_id>")
@token_required
def sample_sheet(draw_id: int):
    sheet = get_sample_sheet(db.session, draw_id, g.actor, clock.now())
    return jsonify(id=sheet.draw_id, agency=sheet.agency, month=sheet.month.isoformat()[:7], seed=sheet.seed,
                   population=sheet.population, rows=[{
                       "log": r.log_id, "account": r.account, "queried_at": r.queried_at.isoformat(),
                       "item": r.item_code, "subject": r.subject, "case_number": r.case_number, "flags": r.flags,
                       "verdict": r.verdict, "note": r.note} for r in sheet.rows])


@bp.post("/sampling/<int:draw_id>/rows/<int:log_id>")
@token_required
def check_sampled_row(draw_id: int, log_id: int):
    body = json_body()
    item = check_sample_row(db.session, draw_id=draw_id, log_id=log_id, verdict=str(body.get("verdict", "")),
                            note=str(body.get("note") or ""), actor=g.actor, now=clock.now())
    return jsonify(log=item.log_id, verdict=item.verdict, note=item.note)


def case_json(c: CaseRow) -> dict:
    return {"id": c.id, "application": c.application_id, "agency": c.agency, "source": c.source, "log": c.log_id,
            "flag": c.flag, "sampling_draw": c.draw_id, "description": c.description,
            "opened_at": c.opened_at.isoformat(), "report_due": c.report_due.isoformat(),
            "reported_at": c.reported_at.isoformat() if c.reported_at else None, "late": c.late, "state": c.state,
            "joint_audit": c.joint_audit_id, "audit_record": c.audit_record_id}


@bp.post("/sampling/<int:draw_id>/rows/<int:log_id>/violation")
@token_required
def raise_sampled_violation(draw_id: int, log_id: int):
    case = raise_sampling_violation(db.session, draw_id=draw_id, log_id=log_id, actor=g.actor, now=clock.now(),
                                    major=json_body().get("major") is True)
    response = jsonify(id=case.id, application=case.application_id, report_due=case.report_due.isoformat(),
                       joint_audit=case.joint_audit_id)
    response.status_code = 201
    return response


@bp.get("/violations")
@token_required
def violation_cases():
    log = request.args.get("log", type=small_int)
    return jsonify([case_json(c) for c in case_rows(db.session, g.actor, clock.now(), log_id=log)])


@bp.post("/violations/<int:case_id>/joint-audit")
@token_required
def start_case_joint_audit(case_id: int):
    app = start_joint_audit(db.session, case_id=case_id, reason=str(json_body().get("reason") or ""), actor=g.actor,
                            now=clock.now())
    response = jsonify(application=app.id)
    response.status_code = 201
    return response
