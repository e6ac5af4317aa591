"""The OpenAPI 3.1 description of /api/v1, served as JSON and as a readable page (Swagger UI from npm)."""

from __future__ import annotations

from flask import jsonify, render_template

from workflows.forms import FIELD_TYPES

from . import bp

STATES = ["running", "returned", "completed", "rejected", "withdrawn"]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _problems(*codes: int) -> dict:
    text = {400: "Bad request", 401: "No or bad token", 403: "Not allowed for this person", 404: "Not found",
            409: "Conflict: no longer open, or changed by someone else; type `urn:webir:problem:incident`: the engine "
                 "failed on the step, nothing of it was kept, an incident (`incident`, `application`) is open and the "
                 "administrators were told", 413: "Body too large",
            422: "Invalid input; `errors` (or `problems`) names each field or element",
            429: "Too many failed log-ins from this address; wait and retry"}
    return {str(c): {"description": text[c], "content": {"application/problem+json": {"schema": _ref("Problem")}}}
            for c in codes}


def _op(summary: str, responses: dict, *, tag: str, params=(), body=None, auth: bool = True,
        errors=(401,)) -> dict:
    op = {"summary": summary, "tags": [tag], "responses": {**responses, **_problems(*errors)}}
    if params:
        op["parameters"] = list(params)
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if not auth:
        op["security"] = []
    return op


def _path_int(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}


def _query(name: str, schema: dict, description: str = "") -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


PAGING = [_query("page", {"type": "integer", "minimum": 1}), _query("per_page", {"type": "integer", "minimum": 1,
                                                                                 "maximum": 200})]
NULL_TIME = {"type": ["string", "null"], "format": "date-time"}
TIME = {"type": "string", "format": "date-time"}

SCHEMAS = {
    "Problem": {"type": "object", "required": ["title", "status"], "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "errors": {"type": "object", "additionalProperties": {"type": "string"}},
        "problems": {"type": "array", "items": {"type": "object", "properties": {
            "element": {"type": ["string", "null"]}, "message": {"type": "string"}}}}}},
    "Field": {"type": "object", "required": ["name", "label", "type", "required"], "properties": {
        "name": {"type": "string"}, "label": {"type": "string"}, "type": {"enum": list(FIELD_TYPES)},
        "required": {"type": "boolean"}, "choices": {"type": "array", "items": {"type": "object", "properties": {
            "value": {"type": "string"}, "label": {"type": "string"}}}},
        "help": {"type": "string"}, "source": {"type": "string", "description": "the clause the field comes from"},
        "attestation": {"type": "boolean", "description": "a statement the filer must tick"},
        "columns": {"type": "array", "items": {"type": "object"},
                    "description": "a rows field's columns (fields): its value is a list of objects, one per row; an "
                                   "error names the row from 1 and the column, e.g. rows[3].subject_national_id"},
        "min_rows": {"type": "integer"}, "max_rows": {"type": "integer"}}},
    "Form": {"type": "object", "required": ["key", "title"], "properties": {
        "key": {"type": "string"}, "title": {"type": "string"}, "source": {"type": "string"},
        "fields": {"type": "array", "items": _ref("Field")}}},
    "CurrentTask": {"type": "object", "properties": {
        "id": {"type": "integer"}, "step": {"type": "string"}, "name": {"type": "string"},
        "role": {"type": "string"}, "candidates": {"type": "array", "items": {"type": "string"}}, "since": TIME}},
    "HistoryEntry": {"type": "object", "properties": {
        "step": {"type": "string"}, "step_name": {"type": "string"}, "role": {"type": "string"},
        "actor": {"type": ["string", "null"]}, "decision": {"type": "string"},
        "opinion": {"type": ["string", "null"]}, "data": {"type": ["object", "null"]}, "at": TIME,
        "on_behalf_of": {"type": ["string", "null"],
                         "description": "the holder a leave substitute or a delegate decided for (username)"}}},
    "Substitute": {"type": "object", "required": ["person", "substitute", "from", "to"], "properties": {
        "person": {"type": "string"}, "substitute": {"type": "string"},
        "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"}}},
    "RosterAccount": {"type": "object", "properties": {
        "id": {"type": "integer"}, "username": {"type": "string"}, "name": {"type": "string"},
        "unit": {"type": ["string", "null"]}, "kind": {"enum": ["querier", "manager"]},
        "egov_account": {"type": "string"}, "status": {"enum": ["active", "disabled"]},
        "effective_on": {"type": ["string", "null"], "format": "date"},
        "valid_until": {"type": ["string", "null"], "format": "date",
                        "description": "the last usable day of an approved deletion or job change"},
        "disabled_on": {"type": ["string", "null"], "format": "date"},
        "application": {"type": ["integer", "null"], "description": "the application that last changed it"},
        "items": {"type": "array", "items": {"type": "object", "properties": {
            "code": {"type": "string"}, "name": {"type": "string"},
            "since": {"type": ["string", "null"], "format": "date"},
            "application": {"type": ["integer", "null"], "description": "the application that granted it"}}}}}},
    "Application": {"type": "object", "required": ["id", "state", "definition", "current_tasks", "history"],
                    "properties": {
        "id": {"type": "integer"}, "form": {"type": "string"}, "title": {"type": "string"},
        "state": {"enum": STATES}, "definition": {"type": "object", "properties": {
            "key": {"type": "string"}, "version": {"type": "integer"}}},
        "applicant": {"type": ["string", "null"]}, "agency": {"type": "string"}, "data": {
            "type": "object", "description": "the form's fields; national ID numbers masked (A12****789)"},
        "created_at": TIME, "closed_at": NULL_TIME, "outcome_reason": {"type": ["string", "null"]},
        "current_tasks": {"type": "array", "items": _ref("CurrentTask")},
        "history": {"type": "array", "items": _ref("HistoryEntry")},
        "attachments": {"type": "array", "items": _ref("Attachment"),
                        "description": "names and hashes only; the bytes at each file's url"}}},
    "Attachment": {"type": "object", "required": ["id", "name", "media_type", "size", "sha256"], "properties": {
        "id": {"type": "integer"}, "name": {"type": "string", "description": "the file name as uploaded"},
        "media_type": {"enum": ["application/pdf", "image/jpeg", "image/png"],
                       "description": "detected from the content, never from the name"},
        "size": {"type": "integer"}, "sha256": {"type": "string"}, "label": {"type": ["string", "null"]},
        "field": {"type": ["string", "null"], "description": "the form's attachment field it fills"},
        "step": {"type": ["string", "null"], "description": "the step it was added at; null: with the filing"},
        "uploaded_by": {"type": "string"}, "uploaded_at": TIME, "removed_at": NULL_TIME,
        "removable": {"type": "boolean", "description": "the reader uploaded it and its step is undecided"},
        "url": {"type": ["string", "null"], "description": "download (null for a draft or a withdrawn file)"}}},
    "Filed": {"type": "object", "required": ["id", "state"], "properties": {
        "id": {"type": "integer"}, "state": {"enum": STATES}}},
    "ApplicationPage": {"type": "object", "properties": {
        "total": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"},
        "items": {"type": "array", "items": {"type": "object"}}}},
    "InboxTask": {"type": "object", "properties": {
        "id": {"type": "integer"}, "application": {"type": "integer"}, "form": {"type": "string"},
        "step": {"type": "string"}, "name": {"type": "string"}, "role": {"type": "string"},
        "applicant": {"type": ["string", "null"]}, "agency": {"type": "string"}, "since": TIME,
        "due_at": {"type": ["string", "null"], "format": "date-time"},
        "bulk": {"type": "boolean", "description": "the step may be decided together with others"},
        "key": {"type": "array", "description": "what is asked: the form's key fields, ID numbers masked",
                "items": {"type": "object", "properties": {"name": {"type": "string"}, "label": {"type": "string"},
                                                           "value": {}}}}}},
    "Task": {"type": "object", "properties": {
        "id": {"type": "integer"}, "step": {"type": "string"}, "name": {"type": "string"},
        "role": {"type": "string"}, "state": {"enum": ["open", "completed", "cancelled"]}, "since": TIME,
        "decisions": {"type": "array", "items": {"type": "string"}}, "bulk": {"type": "boolean"},
        "send_back_to": {"type": "array", "description": "earlier steps this case may be sent back to",
                         "items": {"type": "object", "properties": {"step": {"type": "string"},
                                                                    "name": {"type": "string"}}}},
        "fields": {"type": "array", "items": _ref("Field")}, "application": _ref("Application")}},
    "Decision": {"type": "object", "required": ["decision"], "properties": {
        "decision": {"enum": ["approve", "reject", "return", "resubmit", "withdraw"]},
        "opinion": {"type": "string"}, "data": {
            "type": "object", "description": "the step's fields; a step deciding item by item (a pack's per_item, e.g. "
                                             "附表三's setting) takes item_<code>: grant | refuse and, when refused, "
                                             "item_<code>_reason"}}},
    "Version": {"type": "object", "properties": {
        "version": {"type": "integer"}, "author": {"type": ["string", "null"]}, "created_at": TIME,
        "note": {"type": ["string", "null"]}, "sha256": {"type": "string"},
        "waiting_applications": {"type": "integer"}, "xml": {"type": "string"}}},
    "ProcessDefinition": {"type": "object", "properties": {
        "key": {"type": "string"}, "name": {"type": "string"}, "form": {"type": "string"},
        "versions": {"type": "array", "items": _ref("Version")}}},
    "FormChain": {"type": "object", "properties": {
        "form": {"type": "string"}, "title": {"type": "string"},
        "agency": {"type": ["string", "null"], "description": "the agency whose filers this chain is for (an agency "
                   "layer's own, e.g. KHH-SW's 附表1); null: the city's, for everyone else"},
        "live": {"type": ["string", "null"]}, "chosen": {"type": "boolean"},
        "processes": {"type": "array", "items": {"type": "object", "properties": {
            "key": {"type": "string"}, "name": {"type": "string"}, "latest_version": {"type": "integer"}}}}}},
    "StepFigures": {"type": "object", "properties": {
        "process": {"type": "string"}, "version": {"type": "integer"}, "step": {"type": "string"},
        "name": {"type": "string"}, "role": {"type": "string"}, "waiting": {"type": "integer"},
        "median_days": {"type": "number"}, "p95_days": {"type": "number"}, "oldest_days": {"type": "number"},
        "oldest_application": {"type": "integer"}}},
    "Schedule": {"type": "object", "properties": {
        "name": {"type": "string"}, "title": {"type": "string"}, "process": {"type": "string"},
        "source": {"type": "string", "description": "the clause of the rule book that asks for it"},
        "every": {"enum": ["month", "quarter", "half_year", "year"]},
        "day": {"type": "integer", "description": "the day of the period's first month it starts on"},
        "month": {"type": ["integer", "null"], "description": "the month a yearly duty starts in"},
        "hour": {"type": "integer"},
        "due_day": {"type": ["integer", "null"],
                    "description": "its steps are due by this day of the start month (e.g. 31: by the end of March)"},
        "next_run_at": NULL_TIME, "last_run_at": NULL_TIME, "last_result": {"type": ["string", "null"]}}},
    "Timer": {"type": "object", "properties": {
        "application": {"type": "integer"}, "form": {"type": "string"}, "step": {"type": "string"},
        "due_at": TIME}},
    "Incident": {"type": "object", "required": ["id", "application", "kind", "error_type", "message", "attempts"],
                 "properties": {
        "id": {"type": "integer"}, "application": {"type": "integer"}, "form": {"type": "string"},
        "kind": {"type": "string", "description": "which use case failed: timer (the sweep's wake), filing (the "
                                                  "start of a filed form's chain), decision (a step's decision)"},
        "step": {"type": ["string", "null"], "description": "the BPMN element that failed, when known"},
        "error_type": {"type": "string"}, "message": {"type": "string"}, "traceback": {"type": "string"},
        "first_occurred_at": TIME, "last_occurred_at": TIME, "attempts": {"type": "integer"},
        "resolved_at": NULL_TIME, "resolved_by": {"type": ["string", "null"]},
        "decision": {"type": ["string", "null"], "description": "a failed decision the retry applies again"},
        "decided_by": {"type": ["string", "null"], "description": "who made that decision"}}},
    "Notification": {"type": "object", "properties": {
        "id": {"type": "integer"}, "kind": {"type": "string"}, "subject": {"type": "string"},
        "body": {"type": "string"}, "link": {"type": ["string", "null"]}, "created_at": TIME,
        "read": {"type": "boolean"}}},
    "LegalHold": {"type": "object", "required": ["id", "application", "reason", "set_by", "set_at"], "properties": {
        "id": {"type": "integer"}, "application": {"type": "integer"}, "reason": {"type": "string"},
        "set_by": {"type": "string"}, "set_at": TIME, "released_by": {"type": ["string", "null"]},
        "released_at": NULL_TIME, "release_reason": {"type": ["string", "null"]}}},
    "Revealed": {"type": "object", "required": ["application", "field", "value"], "properties": {
        "application": {"type": "integer"}, "field": {"type": "string"}, "label": {"type": "string"},
        "value": {"type": "string", "description": "the whole number"}, "reveal": {"type": "integer"},
        "revealed_at": TIME}},
    "Reveal": {"type": "object", "properties": {
        "id": {"type": "integer"}, "application": {"type": "integer"}, "form": {"type": "string"},
        "agency": {"type": "string"}, "field": {"type": "string"}, "subject_name": {"type": ["string", "null"]},
        "actor": {"type": "string"}, "reason": {"type": "string"}, "created_at": TIME}},
    "AuditEvent": {"type": "object", "properties": {
        "id": {"type": "integer"}, "event_type": {"type": "string"}, "actor": {"type": ["string", "null"]},
        "subject_type": {"type": "string"}, "subject_id": {"type": ["integer", "null"]},
        "payload": {"type": ["object", "null"]}, "created_at": TIME}},
    "OrgAgency": {"type": "object", "required": ["code", "name", "kinds"], "properties": {
        "code": {"type": "string"}, "name": {"type": "string"}, "city": {"type": "string"},
        "kinds": {"type": "array", "items": {"enum": ["central", "authority", "requesting", "bureau"]},
                  "description": "one or more: Taipei's 勞動局 is both central and authority"},
        "people": {"type": "integer", "description": "active people"},
        "units": {"type": "array", "description": "in tree order", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}, "parent": {"type": ["integer", "null"]},
            "path": {"type": "string"}}}}}},
    "OrgPerson": {"type": "object", "required": ["username", "name", "agency", "status", "active"], "properties": {
        "username": {"type": "string"}, "name": {"type": "string"}, "title": {"type": ["string", "null"]},
        "email": {"type": ["string", "null"]}, "staff_number": {"type": ["string", "null"]},
        "agency": {"type": "string"}, "unit": {"type": ["integer", "null"]}, "unit_name": {"type": ["string", "null"]},
        "status": {"enum": ["active", "left", "retired"]}, "status_on": {"type": ["string", "null"], "format": "date"},
        "active": {"type": "boolean"},
        "is_contractor": {"type": "boolean", "description": "staff of an outsourced vendor (委外廠商人員, 002 §5(5))"},
        "roles": {"type": "array", "items": _ref("RoleHolding")},
        "delegates": {"type": "array", "items": {"type": "object"}},
        "tasks_moved": {"type": "array", "items": {"type": "integer"}}}},
    "RoleHolding": {"type": "object", "properties": {
        "id": {"type": "integer"}, "role": {"type": "string"}, "unit": {"type": ["string", "integer", "null"]},
        "valid_from": {"type": ["string", "null"], "format": "date"},
        "valid_to": {"type": ["string", "null"], "format": "date"}, "current": {"type": "boolean"}}},
    "ImportReport": {"type": "object", "required": ["creates", "updates", "deactivations", "errors"], "properties": {
        "creates": {"type": "array", "items": {"type": "object"}},
        "updates": {"type": "array", "items": {"type": "object"}},
        "deactivations": {"type": "array", "items": {"type": "object"}},
        "units": {"type": "array", "items": {"type": "object"}, "description": "units the file creates"},
        "errors": {"type": "array", "items": {"type": "object", "required": ["row", "message"], "properties": {
            "row": {"type": "integer", "description": "line in the file; the header is line 1"},
            "column": {"type": ["string", "null"], "description": "the header as written"},
            "message": {"type": "string"}}}},
        "rows": {"type": "integer"}, "applied": {"type": "boolean"}}},
    "PersonAccess": {"type": "object", "required": ["username", "active"], "properties": {
        "username": {"type": "string"}, "active": {"type": "boolean"}, "locked_until": NULL_TIME}},
}


def _array(name: str) -> dict:
    return {"type": "array", "items": _ref(name)}


LOG_FILE_BODY = {"required": True, "content": {
    "text/csv": {"schema": {"type": "string", "format": "binary"}},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "schema": {"type": "string", "format": "binary"}},
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "file": {"type": "string", "format": "binary"}}}}}}
LOG_MAPPING = [_query(f"map_{key}", {"type": "string"}, "header text of the column holding this field")
               for key in ("account", "date", "time", "item", "subject", "case_number", "reason", "result")]
IMPORT_RESULT = {"type": "object", "properties": {
    "rows": {"type": "integer"}, "new": {"type": "integer"}, "duplicates": {"type": "integer"},
    "errors": {"type": "array", "items": {"type": "object", "properties": {
        "row": {"type": "integer"}, "column": {"type": "string"}, "message": {"type": "string"}}}},
    "error_count": {"type": "integer"}, "mapping": {"type": "object"}, "stored": {"type": "boolean"},
    "import": {"type": ["integer", "null"]}}}
LOG_FLAGS = ["no_registration", "registered_after_query", "item_not_granted", "account_unknown", "account_disabled",
             "self_query", "colleague_query", "outside_office_hours", "basis_not_listed"]
QUERY_LOG = {"type": "object", "properties": {
    "id": {"type": "integer"}, "agency": {"type": "string"}, "account": {"type": "string"}, "queried_at": TIME,
    "item": {"type": "string"}, "subject": {"type": "string", "description": "masked: A12****789"},
    "case_number": {"type": ["string", "null"]}, "reason": {"type": ["string", "null"]},
    "result": {"type": ["string", "null"]}, "registration": {"type": ["integer", "null"]},
    "registration_line": {"type": ["integer", "null"], "description": "the matched row (編號) of that registration"},
    "flags": {"type": "array", "items": {"enum": LOG_FLAGS}}, "notes": {"type": "object"}}}


IMPORT_JOB = {"type": "object", "properties": {
    "id": {"type": "integer"}, "agency": {"type": "string"}, "file": {"type": "string"},
    "state": {"enum": ["queued", "running", "done", "failed"]},
    "rows": {"type": "integer", "description": "read so far"},
    "new": {"type": "integer"}, "duplicates": {"type": "integer"}, "error_count": {"type": "integer"},
    "errors": {"type": "array", "items": {"type": "object", "properties": {
        "row": {"type": "integer"}, "column": {"type": "string"}, "message": {"type": "string"}}}},
    "message": {"type": ["string", "null"], "description": "why the whole file was refused"},
    "progress": {"type": "object", "properties": {
        "done": {"type": "integer"}, "total": {"type": ["integer", "null"]},
        "percent": {"type": ["integer", "null"]}},
        "description": "bytes of a CSV, rows of a spreadsheet"},
    "created_at": TIME, "started_at": {"type": ["string", "null"]}, "finished_at": {"type": ["string", "null"]}}}


def query_log_paths() -> dict:
    """WebIR query logs: import (001 §9(2)), reconciliation flags and their answers (000 §6(1))."""
    import_op = _op(
        "Import a WebIR query-log download (CSV in Big5/CP950 or UTF-8, or .xlsx) for an agency (its agency "
        "manager); all rows or none: any bad row stores nothing (422 naming row and column); dry_run=1 only "
        "counts. A body larger than QUERY_LOG_BACKGROUND_BYTES (or background=1) is checked, stored and imported "
        "by a background job: 202 with the job and its address (Location)",
        {"200": _json(IMPORT_RESULT, "Dry run: nothing stored"), "201": _json(IMPORT_RESULT, "Stored"),
         "202": _json(IMPORT_JOB, "Queued: GET the Location for its progress"),
         "422": _json(IMPORT_RESULT, "Bad rows; nothing stored")},
        tag="query-logs", errors=(401, 403, 404, 413), params=[
            {"name": "agency", "in": "query", "required": True, "schema": {"type": "string"}},
            _query("dry_run", {"enum": ["0", "1"]}), _query("name", {"type": "string"}, "the file's name"),
            _query("background", {"enum": ["0", "1"]}, "1: always a job; 0: always in the request; "
                   "left out: a job when the body is large"),
            *LOG_MAPPING])
    import_op["requestBody"] = LOG_FILE_BODY
    preview_op = _op("How a log file's columns are read, and its first rows (ID numbers masked)", {
        "200": _json({"type": "object"})}, tag="query-logs", errors=(401, 413, 422), params=LOG_MAPPING)
    preview_op["requestBody"] = LOG_FILE_BODY
    flag = {"name": "flag", "in": "path", "required": True, "schema": {"enum": LOG_FLAGS}}
    return {
        "/query-logs": {"post": import_op, "get": _op(
            "Logged queries with their flags, newest first: the agency's heads, managers and auditors their "
            "agency's; 勞工局 and 資訊處 staff their city's", {"200": _json({"type": "object", "properties": {
                "total": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"},
                "items": {"type": "array", "items": QUERY_LOG}}})}, tag="query-logs", errors=(401, 403, 422),
            params=[_query("flag", {"enum": LOG_FLAGS}), _query("account", {"type": "string"}),
                    _query("agency", {"type": "string"}), _query("from", {"type": "string"}, "2026-11-30 or 115/11/30"),
                    _query("to", {"type": "string"}), _query("unexplained", {"enum": ["0", "1"]}), *PAGING])},
        "/query-logs/preview": {"post": preview_op},
        "/query-logs/imports/{import_id}": {"get": _op(
            "An import and its progress (state, rows read, new, duplicates, errors): for the person who brought "
            "it, the agency's managers and administrators", {"200": _json(IMPORT_JOB)}, tag="query-logs",
            params=[_path_int("import_id")], errors=(401, 404))},
        "/legal-bases": {
            "get": _op("The legal-basis table of 001 附表, by agency", {"200": _json({"type": "array", "items": {
                "type": "object"}})}, tag="query-logs", params=[_query("agency", {"type": "string"})]),
            "post": _op("Add a statute to an agency's table (administrators)", {"201": _json({"type": "object"},
                                                                                           "Added")},
                        tag="query-logs", errors=(401, 403, 404, 409, 422), body={
                            "type": "object", "required": ["agency", "statute", "purpose"], "properties": {
                                "agency": {"type": "string"}, "statute": {"type": "string"},
                                "purpose": {"type": "string"}}})},
        "/legal-bases/{basis_id}/retire": {"post": _op(
            "Take a statute off its agency's table (administrators)", {"200": _json({"type": "object"})},
            tag="query-logs", params=[_path_int("basis_id")], errors=(401, 403, 404, 409))},
        "/sampling": {"post": _op(
            "Draw a month's sample of an agency's logged queries: ≥ 3 % and ≥ 10, all when fewer; the seed is "
            "recorded (the agency's auditor or manager)", {"201": _json({"type": "object"}, "Drawn")},
            tag="query-logs", errors=(401, 403, 404, 409, 422), body={
                "type": "object", "required": ["agency", "month"], "properties": {
                    "agency": {"type": "string"}, "month": {"type": "string", "examples": ["2026-11"]},
                    "seed": {"type": "integer", "minimum": 0, "maximum": 2147483647}}})},
        "/sampling/{draw_id}": {"get": _op(
            "A month's sample as its print list, each row with its check (ID numbers masked)",
            {"200": _json({"type": "object"})}, tag="query-logs", params=[_path_int("draw_id")],
            errors=(401, 403, 404))},
        "/sampling/{draw_id}/rows/{log_id}": {"post": _op(
            "Tick one drawn row: ok, or problem with a note", {"200": _json({"type": "object"})}, tag="query-logs",
            params=[_path_int("draw_id"), _path_int("log_id")], errors=(401, 403, 404, 422), body={
                "type": "object", "required": ["verdict"], "properties": {
                    "verdict": {"enum": ["ok", "problem"]}, "note": {"type": "string"}}})},
        "/query-logs/{log_id}/flags/{flag}": {"post": _op(
            "Answer one flag of one row: explained with a reason, or raised as a violation (the agency's manager)",
            {"201": _json({"type": "object"}, "Recorded")}, tag="query-logs", params=[_path_int("log_id"), flag],
            errors=(401, 403, 404, 409, 422), body={"type": "object", "required": ["action", "reason"], "properties": {
                "action": {"enum": ["explained", "violation"]}, "reason": {"type": "string"},
                "major": {"type": "boolean", "description": "a major anomaly: its joint audit starts too"}}})},
        "/sampling/{draw_id}/rows/{log_id}/violation": {"post": _op(
            "Raise a drawn row ticked as a problem as a violation: its case (the violation chain) opens",
            {"201": _json({"type": "object"}, "Opened")}, tag="query-logs",
            params=[_path_int("draw_id"), _path_int("log_id")], errors=(401, 403, 404, 409, 422), body={
                "type": "object", "properties": {"major": {"type": "boolean"}}})},
        "/violations/{case_id}/joint-audit": {"post": _op(
            "Judge a violation case a major anomaly: its joint audit (auditor, 政風, IT unit) starts (the agency's "
            "manager or auditor)", {"201": _json({"type": "object"}, "Started")}, tag="query-logs",
            params=[_path_int("case_id")], errors=(401, 403, 404, 409, 422), body={
                "type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}})},
        "/violations": {"get": _op(
            "Violation cases with their review report's due date and whether it is late, for the readers of the "
            "agency's query logs (a case a 稽核紀錄表 opened names its `audit_record` and has no `log`)",
            {"200": _json({"type": "array", "items": {"type": "object"}})},
            tag="query-logs", params=[_query("log", {"type": "integer"}, "only the cases of this log row")],
            errors=(401, 403))},
    }


def org_paths(username: dict) -> dict:
    """Organisation administration (administrators only)."""
    code = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
    text, day = {"type": "string"}, {"type": "string", "description": "ISO (2026-12-01) or ROC (115/12/01)"}
    agency = {"type": "object", "properties": {"code": text, "name": text, "city": text, "kinds": {
        "type": "array", "items": text, "description": "keys or Chinese labels (總管理機關 …)"}}}
    person = {"type": "object", "properties": {
        "username": text, "name": text, "title": text, "email": text, "staff_number": text, "agency": text,
        "unit": {"type": "integer"}, "password": text,
        "is_contractor": {"type": ["boolean", "string"],
                          "description": "a vendor's staff: true / false (or 是 / 否); refused accounts where the "
                                         "pack's contractor_rule says so"}}}
    unit = {"type": "object", "properties": {"name": text, "parent": {"type": ["integer", "null"]}}}
    errors = (401, 403, 404, 422)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    report = _json(_ref("ImportReport"))
    return {
        "/org/agencies": {
            "get": _op("Agencies with their kinds and unit tree", {"200": _json(_array("OrgAgency"))}, tag="org",
                       errors=(401, 403)),
            "post": _op("Add an agency of one or more kinds", {"201": _json(_ref("OrgAgency"), "Created")}, tag="org",
                        body=agency, errors=errors)},
        "/org/agencies/{code}": {
            "get": _op("An agency", {"200": _json(_ref("OrgAgency"))}, tag="org", params=[code], errors=errors),
            "patch": _op("Rename an agency or change its kinds", {"200": _json(_ref("OrgAgency"))}, tag="org",
                         params=[code], body=agency, errors=errors)},
        "/org/agencies/{code}/units": {"post": _op(
            "Add a unit, optionally under another unit of the agency", {"201": _json({"type": "object"}, "Created")},
            tag="org", params=[code], body=unit, errors=errors)},
        "/org/units/{unit_id}": {"patch": _op(
            "Rename a unit or move it in the tree (never under itself)", {"200": _json({"type": "object"})},
            tag="org", params=[_path_int("unit_id")], body=unit, errors=errors)},
        "/org/people": {
            "get": _op("People with their roles", {"200": _json(_array("OrgPerson"))}, tag="org",
                       params=[_query("agency", text, "agency code")], errors=errors),
            "post": _op("Add a person (without a password they cannot log in until one is set)",
                        {"201": _json(_ref("OrgPerson"), "Created")}, tag="org", body=person, errors=errors)},
        "/org/people/{username}": {
            "get": _op("A person, their roles and delegates", {"200": _json(_ref("OrgPerson"))}, tag="org",
                       params=[username], errors=errors),
            "patch": _op("Change name, title, e-mail, staff number or unit", {"200": _json(_ref("OrgPerson"))},
                         tag="org", params=[username], body=person, errors=errors)},
        "/org/people/{username}/status": {"post": _op(
            "Active, left or retired: leaving ends their sessions and roles and hands their open steps to the "
            "role's current holders (`tasks_moved`)", {"200": _json(_ref("OrgPerson"))}, tag="org",
            params=[username], errors=errors, body={"type": "object", "required": ["status"], "properties": {
                "status": {"type": "string", "examples": ["left", "retired", "active", "退休"]}, "on": day}})},
        "/org/people/{username}/roles": {"post": _op(
            "Give a role from one date to another (unit roles in a unit of the person's agency)",
            {"201": _json(_ref("RoleHolding"), "Created")}, tag="org", params=[username], errors=errors, body={
                "type": "object", "required": ["role"], "properties": {
                    "role": text, "unit": {"type": "integer"}, "valid_from": day, "valid_to": day}})},
        "/org/roles/{holding_id}/end": {"post": _op(
            "End a role holding on a date (its last day)", {"200": _json(_ref("RoleHolding"))}, tag="org",
            params=[_path_int("holding_id")], errors=errors, body={"type": "object", "required": ["on"],
                                                                   "properties": {"on": day}})},
        "/org/people/{username}/delegates": {"post": _op(
            "Name a delegate (授權人員) who signs for this head in one head role", {"201": _json({"type": "object"},
                                                                                          "Created")},
            tag="org", params=[username], errors=errors, body={"type": "object", "required": ["delegate", "role"],
                                                               "properties": {"delegate": text, "role": text,
                                                                              "valid_from": day, "valid_to": day}})},
        "/org/delegations/{delegation_id}": {"delete": _op(
            "Withdraw a delegation", {"204": {"description": "Withdrawn"}}, tag="org",
            params=[_path_int("delegation_id")], errors=(401, 403, 404))},
        "/org/import": {"post": {
            **_op("Import people, units and roles from a personnel spreadsheet (CSV in UTF-8 or Big5, or .xlsx; "
                  "columns by header: 帳號, 姓名, 職稱, 電子郵件, 員工編號, 機關代碼, 單位, 角色, 生效日, 迄日, 狀態). "
                  "A file with any error applies nothing",
                  {"200": report, "422": {"description": "The file has errors, each with its row and column; "
                                                         "nothing applied", "content": {"application/json": {
                                                             "schema": _ref("ImportReport")}}}},
                  tag="org", params=[_query("dry_run", {"enum": ["0", "1"]}, "1: preview only"),
                                     _query("deactivate_missing", {"enum": ["0", "1"]},
                                            "1: people of the file's agencies it does not list leave")],
                  errors=(401, 403, 413)),
            "requestBody": {"required": True, "content": {
                "text/csv": {"schema": {"type": "string"}},
                xlsx: {"schema": {"type": "string", "contentEncoding": "binary"}}}}}},
    }


FILE_BODY = {"required": True, "content": {
    **{t: {"schema": {"type": "string", "format": "binary"}} for t in ("application/pdf", "image/jpeg", "image/png",
                                                                        "application/octet-stream")},
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "file": {"type": "string", "format": "binary"}, "label": {"type": "string"}}}}}}
FILE_PARAMS = [_query("name", {"type": "string"}, "the file's name (a body that is the file itself)"),
               _query("label", {"type": "string"}, "what it is, e.g. 當事人同意書")]
FILE_DOWNLOAD = {"description": "The file, as a download of its detected type (nosniff)", "content": {
    t: {"schema": {"type": "string", "format": "binary"}} for t in ("application/pdf", "image/jpeg", "image/png")}}


def attachment_paths(app_id: dict) -> dict:
    """Files of applications and steps: PDF, JPEG, PNG, checked by content, within ATTACHMENT_MAX_BYTES."""
    attachment_id = _path_int("attachment_id")
    upload = {**_op("Attach a file at the step the person holds (the applicant on a returned application); the "
                    "type is read from the content (a renamed program is refused naming what it is); 413 over the "
                    "body limit, 422 over ATTACHMENT_MAX_BYTES", {"201": _json(_ref("Attachment"), "Attached")},
                    tag="attachments", errors=(401, 403, 404, 409, 413, 422),
                    params=[app_id, *FILE_PARAMS, _query("task", {"type": "integer"}, "the held step, if several")]),
              "requestBody": FILE_BODY}
    draft = {**_op("Upload a file for a filing not yet submitted (a draft of one's own, kept a day); name its id "
                   "in the form's attachment field or in `attachments` when filing",
                   {"201": _json(_ref("Attachment"), "Uploaded")}, tag="attachments",
                   errors=(401, 409, 413, 422), params=FILE_PARAMS), "requestBody": FILE_BODY}
    return {
        "/applications/{application_id}/attachments": {"post": upload, "get": _op(
            "An application's files (names, types, sizes, hashes; withdrawn ones marked), for whoever may see it",
            {"200": _json(_array("Attachment"))}, tag="attachments", params=[app_id], errors=(401, 404))},
        "/applications/{application_id}/attachments/{attachment_id}": {
            "get": _op("Download one file (audited as attachment_read)", {"200": FILE_DOWNLOAD}, tag="attachments",
                       params=[app_id, attachment_id], errors=(401, 404)),
            "delete": _op("Withdraw a file one uploaded, while its step is undecided (its bytes are erased, its "
                          "hash stays on the trail)", {"204": {"description": "Withdrawn"}}, tag="attachments",
                          params=[app_id, attachment_id], errors=(401, 403, 404, 409))},
        "/attachments": {"post": draft, "get": _op("My drafts not yet filed", {"200": _json(_array("Attachment"))},
                                                   tag="attachments")},
        "/attachments/{attachment_id}": {"delete": _op(
            "Withdraw one of my drafts", {"204": {"description": "Withdrawn"}}, tag="attachments",
            params=[attachment_id], errors=(401, 404, 409))},
    }


def document() -> dict:
    task_id, app_id, key = _path_int("task_id"), _path_int("application_id"), {
        "name": "key", "in": "path", "required": True, "schema": {"type": "string"}}
    username = {"name": "username", "in": "path", "required": True, "schema": {"type": "string"}}
    waiting = _query("waiting_longer_than", {"type": "string"}, "ISO-8601 duration (P7D, PT12H) or days")
    paths = {
        "/login": {"post": _op("Exchange username and password for a bearer token", {"200": _json({
            "type": "object", "properties": {"token": {"type": "string"}}})}, tag="auth", auth=False,
            body={"type": "object", "required": ["username", "password"], "properties": {
                "username": {"type": "string"}, "password": {"type": "string"}}}, errors=(401, 422, 429))},
        "/password": {"post": _op(
            "Change one's own password (at least 8 characters, not the current one); every earlier token and web "
            "session ends and the answer carries a fresh token. Where the city sets a password period (Taoyuan 004 "
            "§7: 3 months) and the password is older, every other call answers 403 of type "
            "`urn:webir:problem:password-expired` until it is changed",
            {"200": _json({"type": "object", "required": ["token"], "properties": {"token": {"type": "string"}}})},
            tag="auth", errors=(401, 422), body={
                "type": "object", "required": ["current_password", "new_password"], "properties": {
                    "current_password": {"type": "string"}, "new_password": {"type": "string", "minLength": 8}}})},
        "/logout": {"post": _op("End this person's tokens and web sessions on every device", {
            "204": {"description": "Logged out"}}, tag="auth")},
        "/people/{username}/unlock": {"post": _op(
            "Lift a log-in lockout (administrators)", {"200": _json(_ref("PersonAccess"))}, tag="people",
            params=[username], errors=(401, 403, 404))},
        "/people/{username}/deactivate": {"post": _op(
            "Deactivate a person: log-ins refused, sessions and tokens ended at once (administrators)",
            {"200": _json(_ref("PersonAccess"))}, tag="people", params=[username], errors=(401, 403, 404))},
        "/people/{username}/substitute": {
            "put": _op("Set the person's leave substitute (代理人) for a date range, replacing any other (the "
                       "person, their unit or agency head, or an administrator); the substitute must be active and "
                       "of the same agency", {"200": _json(_ref("Substitute"))}, tag="people", params=[username],
                       errors=(401, 403, 404, 422), body={
                           "type": "object", "required": ["substitute", "from", "to"], "properties": {
                               "substitute": {"type": "string"}, "from": {"type": "string", "format": "date"},
                               "to": {"type": "string", "format": "date"}}}),
            "delete": _op("End the person's leave substitute today", {"204": {"description": "Ended"}},
                          tag="people", params=[username], errors=(401, 403, 404))},
        "/accounts": {"get": _op(
            "An agency's WebIR account roster: items since when and through which application, disabled accounts "
            "with their date (the agency's managers; 勞工局 and 資訊處 staff for their city; administrators)",
            {"200": _json({"type": "object", "properties": {
                "agency": {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}}},
                "accounts": _array("RosterAccount")}})}, tag="accounts", errors=(401, 403, 404),
            params=[_query("agency", {"type": "string"}, "agency code; default: one's own")])},
        **org_paths(username),
        **attachment_paths(app_id),
        "/forms": {"get": _op("Forms this person may file", {"200": _json(_array("Form"))}, tag="forms")},
        "/forms/{key}": {"get": _op("A form's fields", {"200": _json(_ref("Form"))}, tag="forms", params=[key],
                                    errors=(401, 403, 404))},
        "/applications": {
            "get": _op("Search the applications this person may see (stable order, paged)",
                       {"200": _json(_ref("ApplicationPage"))}, tag="applications", errors=(401, 422), params=[
                           _query("form", {"type": "string"}), _query("state", {"enum": STATES}),
                           _query("agency", {"type": "integer"}), _query("applicant", {"type": "string"}),
                           _query("step", {"type": "string"}), _query("holder", {"type": "string"}), waiting,
                           _query("sort", {"enum": ["id", "-id", "created", "-created", "updated", "-updated",
                                                    "waiting", "-waiting", "state", "-state"]}), *PAGING]),
            "post": _op("File a form; its chain starts on the form's live process. 409 of type "
                        "`urn:webir:problem:incident`: filed, but the chain failed to start; the application is "
                        "kept and an administrator's retry starts it", {"201": _json(_ref("Filed"), "Created")},
                        tag="applications", errors=(401, 403, 404, 409, 422), body={
                            "type": "object", "required": ["form", "data"], "properties": {
                                "form": {"type": "string"}, "data": {"type": "object"},
                                "attachments": {"type": "array", "items": {"type": "integer", "minimum": 1},
                                                "description": "ids of one's drafts (POST /attachments) to file "
                                                               "with it, besides those its attachment fields name"}}})},
        "/applications/{application_id}": {"get": _op("An application: state, version, current steps, history",
                                                      {"200": _json(_ref("Application"))}, tag="applications",
                                                      params=[app_id], errors=(401, 404))},
        "/applications/{application_id}/pdf": {"get": _op(
            "The printed sheet: the official form's layout (附表), its fields and the whole sign-off chain with ROC "
            "dates and times; national ID numbers masked", {"200": {"description": "The PDF", "content": {
                "application/pdf": {"schema": {"type": "string", "contentMediaType": "application/pdf"}}}}},
            tag="applications", params=[app_id], errors=(401, 404))},
        "/applications/{application_id}/amend": {"post": _op(
            "Amend a returned application and resubmit it", {"200": _json(_ref("Filed"))}, tag="applications",
            params=[app_id], errors=(401, 404, 409, 422), body={"type": "object", "required": ["data"], "properties": {
                "data": {"type": "object"}, "note": {"type": "string"}}})},
        "/applications/{application_id}/withdraw": {"post": _op(
            "Withdraw an application under way", {"200": _json(_ref("Filed"))}, tag="applications",
            params=[app_id], errors=(401, 404, 409, 422), body={"type": "object", "properties": {
                "reason": {"type": "string"}}})},
        "/applications/{application_id}/recall": {"post": _op(
            "Recall (取回) one's own approval while the next step has not acted; the step returns to the "
            "recaller. 403 when the actor made no such decision, 409 once the next person acted",
            {"200": _json({"type": "object"})}, tag="applications", params=[app_id],
            errors=(401, 403, 404, 409, 422), body={"type": "object", "properties": {"reason": {"type": "string"}}})},
        "/applications/{application_id}/reveal": {"post": _op(
            "Show one masked national ID number whole, with a reason (people holding an open step of the "
            "application only); recorded with who, when and why", {"200": _json(_ref("Revealed"))},
            tag="applications", params=[app_id], errors=(401, 403, 404, 422), body={
                "type": "object", "required": ["field", "reason"], "properties": {
                    "field": {"type": "string", "examples": ["rows[1].subject_national_id", "subject_national_id",
                                                             "national_id"]},
                    "reason": {"type": "string", "maxLength": 500}}})},
        "/applications/{application_id}/legal-hold": {"post": _op(
            "Put an application under a legal hold (保全): it stays off every destruction list until released. "
            "Administrators or the agency's auditors; audited (legal_hold_set); 409 when already held",
            {"201": _json(_ref("LegalHold"))}, tag="applications", params=[app_id], errors=(401, 403, 404, 409, 422),
            body={"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}})},
        "/applications/{application_id}/legal-hold/release": {"post": _op(
            "Release an application's legal hold, with a reason (legal_hold_released); 409 when not held",
            {"200": _json(_ref("LegalHold"))}, tag="applications", params=[app_id], errors=(401, 403, 404, 409, 422),
            body={"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}})},
        "/reveals": {"get": _op(
            "Reveals of national ID numbers, newest first: administrators all; auditors their agency's; "
            "勞工局 and 資訊處 staff their city's", {"200": _json({
                "type": "object", "properties": {"total": {"type": "integer"}, "page": {"type": "integer"},
                                                 "per_page": {"type": "integer"}, "items": _array("Reveal")}})},
            tag="audit", errors=(401, 403, 422), params=[_query("application", {"type": "integer"}), *PAGING])},
        **query_log_paths(),
        "/tasks": {"get": _op(
            "My open tasks, one page (oldest first by default); the header X-Total-Count gives how many match",
            {"200": _json(_array("InboxTask"))}, tag="tasks", errors=(401, 422), params=[
                _query("q", {"type": "string"}, "applicant, application number, whole ID number, or text"),
                _query("form", {"type": "string"}), _query("step", {"type": "string"}),
                _query("overdue", {"enum": ["1"]}, "only steps past their due date"),
                _query("sort", {"enum": ["since", "-since", "due", "-due", "id", "-id", "form", "-form"]}),
                _query("page", {"type": "integer", "minimum": 1}),
                _query("per_page", {"type": "integer", "minimum": 1, "maximum": 200})])},
        "/tasks/decisions": {"post": _op(
            "Decide several steps whose diagram allows it (bulk) with one opinion; each is its own decision "
            "(history entry, audit event, transaction) and reports its own status: a row someone else decided "
            "first is a 409 in `results` and the others stand", {"200": _json({"type": "object", "properties": {
                "decided": {"type": "integer"}, "results": {"type": "array", "items": {
                    "type": "object", "properties": {"task": {"type": "integer"}, "status": {"type": "integer"},
                                                     "application": {"type": ["integer", "null"]},
                                                     "message": {"type": ["string", "null"]}}}}}})},
            tag="tasks", errors=(401, 422), body={
                "type": "object", "required": ["task_ids", "decision"], "properties": {
                    "task_ids": {"type": "array", "items": {"type": "integer"}, "maxItems": 100},
                    "decision": {"enum": ["approve", "reject"]}, "opinion": {"type": "string"}}})},
        "/tasks/{task_id}/send-back": {"post": _op(
            "Send the case back to an earlier step it has passed (退回前關), with a reason; that step's holders "
            "get it again and it then flows on as the diagram says", {"200": _json({"type": "object"})},
            tag="tasks", params=[task_id], errors=(401, 403, 404, 409, 422), body={
                "type": "object", "required": ["to_step", "reason"], "properties": {
                    "to_step": {"type": "string"}, "reason": {"type": "string"}}})},
        "/tasks/{task_id}": {"get": _op("A task, its application and the fields it asks for",
                                        {"200": _json(_ref("Task"))}, tag="tasks", params=[task_id],
                                        errors=(401, 403, 404))},
        "/tasks/{task_id}/complete": {"post": _op("Decide a step", {"200": _json({"type": "object"})}, tag="tasks",
                                                  params=[task_id], body=_ref("Decision"),
                                                  errors=(401, 403, 404, 409, 422))},
        "/tasks/{task_id}/claim": {"post": _op("Claim a shared step", {"200": _json({"type": "object"})},
                                               tag="tasks", params=[task_id], errors=(401, 403, 404, 409))},
        "/tasks/{task_id}/release": {"post": _op("Release a claimed step", {"200": _json({"type": "object"})},
                                                 tag="tasks", params=[task_id], errors=(401, 403, 404, 409))},
        "/tasks/{task_id}/reassign": {"post": _op(
            "Hand a step to someone else, with a reason", {"200": _json({"type": "object"})}, tag="tasks",
            params=[task_id], errors=(401, 403, 404, 409, 422), body={
                "type": "object", "required": ["to", "reason"], "properties": {
                    "to": {"type": "string"}, "reason": {"type": "string"}}})},
        "/process-definitions": {"get": _op("Processes and their versions", {"200": _json(
            _array("ProcessDefinition"))}, tag="definitions")},
        "/process-definitions/{key}/versions/{version}/xml": {"get": _op(
            "A version's BPMN XML", {"200": {"description": "BPMN 2.0 XML, as a file to save", "content": {
                "application/octet-stream": {"schema": {"type": "string"}}}}}, tag="definitions",
            params=[key, _path_int("version")], errors=(401, 404))},
        "/process-definitions/{key}/versions": {"post": {
            **_op("Deploy BPMN XML as the next version (administrators); every path is simulated first and a "
                  "refusal (422) lists `problems` [{element, message}] and the simulated `paths`", {
                "201": _json(_ref("Version"), "Deployed"),
                "200": _json(_ref("Version"), "Identical content. When it equals an earlier, no longer current "
                             "version: `equals_version`, `latest_version`, a `hint` and the `rollback` URL that "
                             "makes it current again; nothing is deployed")},
                tag="definitions", params=[key, _query("note", {"type": "string"}, "change note")],
                errors=(400, 401, 403, 404, 413, 422)),
            "requestBody": {"required": True, "content": {"application/xml": {"schema": {"type": "string"}}}}}},
        "/process-definitions/{key}/versions/{version}/rollback": {"post": _op(
            "Make an earlier version current again as a new version with its content (administrators)",
            {"201": _json(_ref("Version"), "The new version, repeating the earlier one")}, tag="definitions",
            params=[key, _path_int("version")], errors=(401, 403, 404, 409, 422),
            body={"type": "object", "required": ["note"], "properties": {"note": {"type": "string"}}})},
        "/form-chains": {"get": _op(
            "Each form with the process its new filings start on (`live`) and the processes that start it, and a "
            "row per agency with a chain of its own (`agency`; administrators)", {"200": _json(_array("FormChain"))},
            tag="definitions", errors=(401, 403))},
        "/form-chains/{form_key}": {"post": _op(
            "Switch the form's new filings to another process that starts it (administrators); running "
            "applications finish on theirs; with `agency`, only that agency's filers",
            {"200": _json(_ref("FormChain"))}, tag="definitions",
            params=[{"name": "form_key", "in": "path", "required": True, "schema": {"type": "string"}}],
            errors=(401, 403, 404, 409, 422), body={"type": "object", "required": ["process", "note"], "properties": {
                "process": {"type": "string"}, "note": {"type": "string"},
                "agency": {"type": "string", "description": "an agency code (KHH-SW)"}}})},
        "/dashboard/steps": {"get": _op("Waiting figures per process version and step", {"200": _json({
            "type": "object", "properties": {"steps": _array("StepFigures"), "ageing": {"type": "object"},
                                             "stuck": {"type": "array", "items": {"type": "object"}}}})},
            tag="tracking", params=[_query("process", {"type": "string"}), _query("agency", {"type": "integer"})],
            errors=(401, 422))},
        "/schedules": {"get": _op("Recurring duties with next and last run (administrators)", {
            "200": _json(_array("Schedule"))}, tag="scheduler", errors=(401, 403))},
        "/timers": {"get": _op("Pending timers (administrators)", {"200": _json(_array("Timer"))},
                               tag="scheduler", errors=(401, 403))},
        "/incidents": {"get": _op(
            "Applications the engine could not advance, open ones first (administrators)",
            {"200": _json(_array("Incident"))}, tag="scheduler", errors=(401, 403, 422),
            params=[_query("state", {"enum": ["open", "resolved", "all"]}, "default open")])},
        "/incidents/{incident_id}/retry": {"post": _op(
            "Run the application's engine again; resolved when it gets through (administrators)",
            {"200": _json(_ref("Incident"))}, tag="scheduler", params=[_path_int("incident_id")],
            errors=(401, 403, 404, 409))},
        "/notifications": {"get": _op("My notifications", {"200": _json(_array("Notification"))},
                                      tag="notifications")},
        "/audit-events": {"get": _op(
            "Audit events, newest first: administrators all; auditors their agency's; 勞工局 and 資訊處 staff "
            "their city's (events about applications, their steps and WebIR accounts)", {"200": _json({
            "type": "object", "properties": {"total": {"type": "integer"}, "page": {"type": "integer"},
                                             "per_page": {"type": "integer"}, "items": _array("AuditEvent")}})},
            tag="audit", errors=(401, 403, 422), params=[
                _query("event_type", {"type": "string"}), _query("subject_type", {"type": "string"}),
                _query("subject_id", {"type": "integer"}), *PAGING])},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "勞保 WebIR 申請簽核系統 API", "version": "1",
                 "description": "Everything a person does in the web pages. Errors are application/problem+json."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"schemas": SCHEMAS, "securitySchemes": {"bearer": {
            "type": "http", "scheme": "bearer", "description": "POST /login gives the token"}}},
    }


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(document())


@bp.get("/docs")
def docs():
    return render_template("api/docs.html")
