"""Forms, applications and tasks as JSON."""

from __future__ import annotations

from flask import g, jsonify, request, url_for

from models import ApplicationState
from workflows.access import require_admin
from workflows.errors import Forbidden, Invalid, NotFound
from workflows.filing.applications import (
    amend_application,
    forms_for,
    may_file,
    submit_application,
    withdraw_application,
)
from workflows.filing.assignment import claim_task, reassign_task, release_task
from workflows.filing.bulk import decide_many
from workflows.filing.reads import ApplicationView, get_application_view, get_task_page, search_inbox
from workflows.filing.reveals import reveal_national_id
from workflows.filing.rewinds import recall_decision, send_back, send_back_targets
from workflows.filing.sheets import get_sheets
from workflows.filing.tasks import complete_task
from workflows.forms import FORMS
from workflows.notify import list_notifications
from workflows.retention.holds import release_hold, set_hold
from workflows.runtime.incidents import IncidentRow, get_incident, list_incidents, retry_incident
from workflows.tracking.audit_trail import list_audit_trail, list_reveals
from workflows.tracking.dashboard import dashboard
from workflows.tracking.search import Filters, parse_waiting, search_applications

from .. import clock
from ..admin import pending_timers, schedule_rows
from ..applications.sheets import pdf_response
from ..extensions import db
from ..i18n import tr_message
from ..inbox import inbox_query
from ..numbers import MAX_ID, small_int
from . import bp, json_body, token_required
from .attachments import attachment_json


def _application_json(view: ApplicationView) -> dict:
    return {
        "id": view.id, "form": view.form_key, "title": view.form_title, "state": view.state,
        "definition": {"key": view.definition_key, "version": view.definition_version},
        "applicant": view.applicant, "agency": view.agency, "data": view.data,
        "created_at": view.created_at.isoformat(),
        "closed_at": view.closed_at.isoformat() if view.closed_at else None,
        "outcome_reason": view.outcome_reason,
        "current_tasks": [{"id": t.id, "step": t.step, "name": t.name, "role": t.role, "candidates": t.candidates,
                           "since": t.since.isoformat()} for t in view.current_tasks],
        "history": [{"step": h.step, "step_name": h.step_name, "role": h.role, "actor": h.actor,
                     "decision": h.decision, "opinion": h.opinion, "data": h.data, "at": h.at.isoformat(),
                     "on_behalf_of": h.on_behalf_of}
                    for h in view.history],
        # Names and hashes only: the bytes are at each file's own URL, for whoever may see the application.
        "attachments": [attachment_json(a, view.id) for a in view.attachments],
    }


@bp.get("/forms")
@token_required
def forms():
    return jsonify([{"key": f.key, "title": f.title, "source": f.source} for f in forms_for(g.actor, clock.today())])


@bp.get("/forms/<key>")
@token_required
def form(key: str):
    spec = FORMS.get(key)
    if spec is None:
        raise NotFound(f"no form '{key}'")
    if not may_file(g.actor, spec, clock.today()):
        raise Forbidden(f"you may not file '{key}'")
    return jsonify(key=spec.key, title=spec.title, source=spec.source, fields=[f.as_dict() for f in spec.fields])


@bp.post("/applications")
@token_required
def file_application():
    body = json_body()
    data = body.get("data")
    if not isinstance(body.get("form"), str) or not isinstance(data, dict):
        raise Invalid({"form": "give 'form' (a form key) and 'data' (an object)"})
    files = body.get("attachments") or []
    if not isinstance(files, list) or not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i <= MAX_ID
                                              for i in files):
        raise Invalid({"attachments": "give the ids of your drafts (POST /api/v1/attachments) as a list"})
    app = submit_application(db.session, form_key=body["form"], data=data, actor=g.actor, now=clock.now(),
                             attachments=files)
    response = jsonify(id=app.id, state=app.state.value)
    response.status_code = 201
    response.headers["Location"] = url_for("api.application", application_id=app.id)
    return response


@bp.get("/applications/<int:application_id>")
@token_required
def application(application_id: int):
    return jsonify(_application_json(get_application_view(db.session, application_id, g.actor)))


@bp.get("/applications/<int:application_id>/pdf")
@token_required
def application_pdf(application_id: int):
    """The printed sheet (附表 layout, sign-off chain, ID numbers masked); 404 for whom may not read it."""
    return pdf_response(get_sheets(db.session, [application_id], g.actor, clock.now()),
                        f"application-{application_id}.pdf")


@bp.post("/applications/<int:application_id>/amend")
@token_required
def amend(application_id: int):
    body = json_body()
    if not isinstance(body.get("data"), dict):
        raise Invalid({"data": "give the corrected form data as an object"})
    app = amend_application(db.session, application_id=application_id, data=body["data"], actor=g.actor,
                            now=clock.now(), note=str(body.get("note", "")))
    return jsonify(id=app.id, state=app.state.value)


@bp.post("/applications/<int:application_id>/withdraw")
@token_required
def withdraw(application_id: int):
    body = json_body()
    app = withdraw_application(db.session, application_id=application_id, actor=g.actor, now=clock.now(),
                               reason=str(body.get("reason", "")))
    return jsonify(id=app.id, state=app.state.value)


@bp.post("/applications/<int:application_id>/reveal")
@token_required
def reveal(application_id: int):
    body = json_body()
    revealed = reveal_national_id(db.session, application_id=application_id, field=str(body.get("field") or ""),
                                  reason=str(body.get("reason") or ""), actor=g.actor, now=clock.now())
    response = jsonify(application=revealed.application_id, field=revealed.field, label=revealed.label,
                       value=revealed.value, reveal=revealed.reveal_id, revealed_at=revealed.revealed_at.isoformat())
    response.headers["Cache-Control"] = "no-store"
    return response


def _hold_json(hold) -> dict:
    return {"id": hold.id, "application": hold.application_id, "reason": hold.reason,
            "set_by": hold.set_by.username, "set_at": hold.set_at.isoformat(),
            "released_by": hold.released_by.username if hold.released_by else None,
            "released_at": hold.released_at.isoformat() if hold.released_at else None,
            "release_reason": hold.release_reason}


@bp.post("/applications/<int:application_id>/legal-hold")
@token_required
def legal_hold(application_id: int):
    body = json_body()
    hold = set_hold(db.session, application_id=application_id, reason=str(body.get("reason") or ""), actor=g.actor,
                    now=clock.now())
    return jsonify(_hold_json(hold)), 201


@bp.post("/applications/<int:application_id>/legal-hold/release")
@token_required
def legal_hold_release(application_id: int):
    body = json_body()
    hold = release_hold(db.session, application_id=application_id, reason=str(body.get("reason") or ""),
                        actor=g.actor, now=clock.now())
    return jsonify(_hold_json(hold))


@bp.get("/reveals")
@token_required
def reveals():
    args = request.args
    check_numbers(args, "application", "page", "per_page")
    page = list_reveals(db.session, g.actor, now=clock.now(), application_id=args.get("application", type=small_int),
                        page=max(1, args.get("page", 1, type=small_int)),
                        per_page=min(200, max(1, args.get("per_page", 50, type=small_int))))
    return jsonify(total=page.total, page=page.page, per_page=page.per_page, items=[{
        "id": r.id, "application": r.application_id, "form": r.form_key, "agency": r.agency, "field": r.field,
        "subject_name": r.subject_name, "actor": r.actor, "reason": r.reason, "created_at": r.created_at.isoformat()}
        for r in page.items])


@bp.get("/tasks")
@token_required
def tasks():
    """My open steps, one page: ?q=&form=&step=&overdue=1&sort=since|-since|due|id|form&page=&per_page=."""
    check_numbers(request.args, "page", "per_page")
    if request.args.get("form") and request.args["form"] not in FORMS:
        raise Invalid({"form": f"unknown form '{request.args['form']}'"})
    page = search_inbox(db.session, g.actor, inbox_query(request.args, per_page=200), clock.now())
    response = jsonify([{"id": r.task_id, "application": r.application_id, "form": r.form_key, "step": r.step,
                         "name": r.step_name, "role": r.role, "applicant": r.applicant, "agency": r.agency,
                         "since": r.since.isoformat(), "due_at": r.due_at.isoformat() if r.due_at else None,
                         "bulk": r.bulk, "key": [{"name": k.name, "label": k.label, "value": k.value} for k in r.key]}
                        for r in page.rows])
    response.headers["X-Total-Count"] = str(page.total)
    return response


@bp.post("/tasks/decisions")
@token_required
def decide_tasks():
    """Decide several bulk-allowed steps with one opinion; each row reports its own status."""
    body = json_body()
    ids = body.get("task_ids")
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i <= MAX_ID
                                            for i in ids):
        raise Invalid({"task_ids": "give 'task_ids' as a list of task ids"})
    outcomes = decide_many(db.session, task_ids=ids, actor=g.actor, decision=str(body.get("decision") or ""),
                           opinion=str(body.get("opinion") or ""), now=clock.now())
    return jsonify(results=[{"task": o.task_id, "status": o.status, "application": o.application_id,
                             "message": o.message or None} for o in outcomes],
                   decided=sum(o.ok for o in outcomes))


@bp.post("/tasks/<int:task_id>/send-back")
@token_required
def send_back_task(task_id: int):
    body = json_body()
    app = send_back(db.session, task_id=task_id, actor=g.actor, to_step=str(body.get("to_step") or ""),
                    reason=str(body.get("reason") or ""), now=clock.now())
    return jsonify(application=app.id, state=app.state.value,
                   current_tasks=[{"id": t.id, "step": t.step, "name": t.name} for t in app.tasks
                                  if t.state.value == "open"])


@bp.post("/applications/<int:application_id>/recall")
@token_required
def recall(application_id: int):
    body = json_body()
    app = recall_decision(db.session, application_id=application_id, actor=g.actor,
                          reason=str(body.get("reason") or ""), now=clock.now())
    return jsonify(application=app.id, state=app.state.value,
                   current_tasks=[{"id": t.id, "step": t.step, "name": t.name} for t in app.tasks
                                  if t.state.value == "open"])


@bp.get("/tasks/<int:task_id>")
@token_required
def task(task_id: int):
    page = get_task_page(db.session, task_id, g.actor, clock.now())
    row = page.task
    is_open = row.state.value == "open" and row.role != "applicant"
    targets = send_back_targets(db.session, row) if is_open else []
    return jsonify(id=row.id, step=row.step, name=row.name, role=row.role, state=row.state.value,
                   since=row.created_at.isoformat(), decisions=list(page.fields.step.decisions), bulk=row.bulk,
                   send_back_to=[{"step": t.step, "name": t.name} for t in targets],
                   fields=[f.as_dict() for f in page.fields.fields], application=_application_json(page.view))


@bp.post("/tasks/<int:task_id>/complete")
@token_required
def complete(task_id: int):
    body = json_body()
    data = body.get("data") or {}
    if not isinstance(data, dict) or not isinstance(body.get("decision"), str):
        raise Invalid({"decision": "give 'decision' and, if the step asks for fields, 'data' as an object"})
    app = complete_task(db.session, task_id=task_id, actor=g.actor, decision=body["decision"],
                        opinion=str(body.get("opinion") or ""), data=data, now=clock.now())
    return jsonify(application=app.id, state=app.state.value)


def _search_filters(args) -> Filters:
    """The search filters of a query string; 422 naming each one that does not fit."""
    try:
        waiting = parse_waiting(args.get("waiting_longer_than"))
    except ValueError as exc:
        raise Invalid({"waiting_longer_than": str(exc)}) from None
    if args.get("form") and args["form"] not in FORMS:
        raise Invalid({"form": f"unknown form '{args['form']}'"})
    if args.get("state") and args["state"] not in {s.value for s in ApplicationState}:
        raise Invalid({"state": f"one of {', '.join(s.value for s in ApplicationState)}"})
    check_numbers(args, "agency", "page", "per_page")
    return Filters(form=args.get("form"), state=args.get("state"), agency_id=args.get("agency", type=small_int),
                   applicant=args.get("applicant"), step=args.get("step"), holder=args.get("holder"),
                   waiting_days=waiting)


@bp.get("/applications")
@token_required
def list_applications():
    args = request.args
    page = search_applications(db.session, g.actor, _search_filters(args), now=clock.now(),
                               sort=args.get("sort", "-id"), page=max(1, args.get("page", 1, type=small_int)),
                               per_page=min(200, max(1, args.get("per_page", 50, type=small_int))))
    return jsonify(total=page.total, page=page.page, per_page=page.per_page, items=[{
        "id": a.id, "form": a.form_key, "state": a.state, "applicant": a.applicant, "agency": a.agency,
        "created_at": a.created_at.isoformat(),
        "waiting_since": a.waiting_since.isoformat() if a.waiting_since else None,
        "current_tasks": [{"step": t.step, "name": t.name, "holders": t.holders, "since": t.since.isoformat()}
                          for t in a.current]} for a in page.items])


@bp.get("/dashboard/steps")
@token_required
def dashboard_steps():
    check_numbers(request.args, "agency")
    process = request.args.get("process")
    if process and process not in FORMS:
        raise Invalid({"process": f"unknown process '{process}'"})
    board = dashboard(db.session, g.actor, now=clock.now(), process=process,
                      agency_id=request.args.get("agency", type=small_int))
    return jsonify(steps=[{
        "process": s.process, "version": s.version, "step": s.step, "name": s.name, "role": s.role,
        "waiting": s.waiting, "median_days": round(s.median_days, 3), "p95_days": round(s.p95_days, 3),
        "oldest_days": round(s.oldest_days, 3), "oldest_application": s.oldest_application} for s in board.steps],
        ageing=board.ageing,
        stuck=[{"application": s.application_id, "step_name": s.step_name, "days": round(s.days, 3),
                "overdue_days": round(s.overdue_days, 3) if s.overdue_days else None} for s in board.stuck])


@bp.get("/schedules")
@token_required
def schedules():
    require_admin(g.actor)
    return jsonify([{**{k: r[k] for k in ("name", "process", "last_result")},
                     "title": r["title"],
                     "next_run_at": r["next_run_at"].isoformat() if r["next_run_at"] else None,
                     "last_run_at": r["last_run_at"].isoformat() if r["last_run_at"] else None}
                    for r in schedule_rows(clock.now())])


@bp.get("/timers")
@token_required
def pending():
    require_admin(g.actor)
    return jsonify([{"application": t["application"], "form": t["form"], "step": t["step"],
                     "due_at": t["due_at"].isoformat()} for t in pending_timers()])


@bp.get("/incidents")
@token_required
def incidents():
    state = request.args.get("state", "open")
    if state not in ("open", "resolved", "all"):
        raise Invalid({"state": "open, resolved or all"})
    return jsonify([incident_json(i) for i in list_incidents(db.session, actor=g.actor, state=state)])


@bp.post("/incidents/<int:incident_id>/retry")
@token_required
def retry(incident_id: int):
    retry_incident(db.session, incident_id=incident_id, actor=g.actor, now=clock.now())
    return jsonify(incident_json(get_incident(db.session, incident_id=incident_id, actor=g.actor)))


def incident_json(i: IncidentRow) -> dict:
    return {"id": i.id, "application": i.application_id, "form": i.form_key, "kind": i.kind, "step": i.step,
            "error_type": i.error_type, "message": tr_message(i.message), "traceback": i.traceback,
            "first_occurred_at": i.first_occurred_at.isoformat(), "last_occurred_at": i.last_occurred_at.isoformat(),
            "attempts": i.attempts, "resolved_at": i.resolved_at.isoformat() if i.resolved_at else None,
            "resolved_by": i.resolved_by, "decision": i.decision, "decided_by": i.decided_by}


@bp.get("/notifications")
@token_required
def my_notifications():
    return jsonify([{"id": n.id, "kind": n.kind, "subject": n.subject, "body": n.body, "link": n.link,
                     "created_at": n.created_at.isoformat(), "read": n.read_at is not None}
                    for n in list_notifications(db.session, g.actor)])


@bp.post("/tasks/<int:task_id>/claim")
@token_required
def claim(task_id: int):
    task = claim_task(db.session, task_id=task_id, actor=g.actor, now=clock.now())
    return jsonify(id=task.id, claimed_by=g.actor.username)


@bp.post("/tasks/<int:task_id>/release")
@token_required
def release(task_id: int):
    task = release_task(db.session, task_id=task_id, actor=g.actor, now=clock.now())
    return jsonify(id=task.id, claimed_by=None)


@bp.post("/tasks/<int:task_id>/reassign")
@token_required
def reassign(task_id: int):
    body = json_body()
    if not isinstance(body.get("to"), str):
        raise Invalid({"to": "give the username of the new holder"})
    task = reassign_task(db.session, task_id=task_id, actor=g.actor, to_username=body["to"],
                         reason=str(body.get("reason") or ""), now=clock.now())
    return jsonify(id=task.id, candidates=[c.person.username for c in task.candidates])


@bp.get("/audit-events")
@token_required
def audit_events():
    args = request.args
    check_numbers(args, "subject_id", "page", "per_page")
    page = list_audit_trail(db.session, g.actor, now=clock.now(), event_type=args.get("event_type"),
                            subject_type=args.get("subject_type"), subject_id=args.get("subject_id", type=small_int),
                            page=max(1, args.get("page", 1, type=small_int)),
                            per_page=min(200, max(1, args.get("per_page", 50, type=small_int))))
    return jsonify(total=page.total, page=page.page, per_page=page.per_page, items=[{
        "id": e.id, "event_type": e.event_type, "actor": e.actor, "subject_type": e.subject_type,
        "subject_id": e.subject_id, "payload": e.payload, "created_at": e.created_at.isoformat()} for e in page.items])


def check_numbers(args, *names: str) -> None:
    """422 naming each query parameter that is not a whole number in range."""
    errors = {}
    for name in names:
        try:
            if args.get(name):
                small_int(args[name])
        except ValueError:
            errors[name] = f"a whole number from 0 to {MAX_ID}"
    if errors:
        raise Invalid(errors)
