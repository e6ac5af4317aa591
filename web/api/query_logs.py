"""Query logs as JSON: import a WebIR download, list the rows with their flags, answer a flag."""

from __future__ import annotations

from flask import g, jsonify, request

from workflows.errors import Invalid
from workflows.oversight.flags import answer_flag
from workflows.oversight.imports import ImportResult, import_query_logs, preview_query_logs
from workflows.oversight.logfile import FIELDS, parse_roc_or_iso
from workflows.oversight.reads import LogFilters, LogView, list_query_logs

from .. import clock
from ..extensions import db
from ..inputs import body_limit
from ..numbers import small_int
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
    result = import_query_logs(db.session, agency_code=agency, stream=stream, file_name=name, actor=g.actor,
                               now=clock.now(), dry_run=request.args.get("dry_run") in ("1", "true"),
                               mapping=mapping_override())
    response = jsonify(import_json(result))
    response.status_code = 422 if result.error_count else 201 if result.stored else 200
    return response


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
            "result": v.result, "registration": v.registration_id, "flags": v.flags,
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
                       reason=str(body.get("reason", "")), actor=g.actor, now=clock.now())
    response = jsonify(flag=note.flag, action=note.action, reason=note.reason)
    response.status_code = 201
    return response
