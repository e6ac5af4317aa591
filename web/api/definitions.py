"""Process definitions and their versions as JSON; administrators deploy new versions as BPMN XML."""

from __future__ import annotations

from flask import current_app, g, jsonify, request, url_for

from workflows.access import require_admin
from workflows.editor.chains import FormChainRow, list_form_chains, switch_form_chain
from workflows.editor.deploy import MAX_DIAGRAM_BYTES, deploy_version, rollback_version
from workflows.editor.reads import VersionRow, get_definition, list_definitions
from workflows.runtime.diagrams import get_version

from .. import clock
from ..extensions import db
from ..inputs import body_limit, json_body
from ..security import diagram_download
from . import bp, token_required


def _version_json(key: str, row: VersionRow) -> dict:
    return {"version": row.version, "author": row.author, "created_at": row.created_at.isoformat(),
            "note": row.note, "sha256": row.sha256, "waiting_applications": row.waiting,
            "xml": url_for("api.definition_xml", key=key, version=row.version)}


@bp.get("/process-definitions")
@token_required
def definitions():
    return jsonify([{"key": d.key, "name": d.name, "form": d.form,
                     "versions": [_version_json(d.key, v) for v in d.versions]} for d in list_definitions(db.session)])


@bp.get("/process-definitions/<key>/versions/<int:version>/xml")
@token_required
def definition_xml(key: str, version: int):
    row = get_version(db.session, key, version)
    return diagram_download(row.bpmn_xml, f"{key}-v{version}.bpmn")


@bp.post("/process-definitions/<key>/versions")
@token_required
@body_limit(MAX_DIAGRAM_BYTES)  # a larger body is a 413 before it is read
def deploy(key: str):
    require_admin(g.actor)  # before reading a possibly large body
    deployment = deploy_version(db.session, request.get_data(cache=False), key=key, actor=g.actor,
                                now=clock.now(), note=request.args.get("note", ""),
                                jurisdiction=current_app.config["JURISDICTION"])
    number = deployment.version.version
    row = next(v for v in get_definition(db.session, key).versions if v.version == number)
    extra = {}
    if deployment.equals_earlier:
        extra = {"equals_version": number, "latest_version": deployment.latest,
                 "hint": f"內容與第 {number} 版相同，目前是第 {deployment.latest} 版；"
                         f"要讓第 {number} 版重新生效，請回復此版",
                 "rollback": url_for("api.rollback", key=key, version=number)}
    response = jsonify(key=key, created=deployment.created, **_version_json(key, row), **extra)
    response.status_code = 201 if deployment.created else 200
    response.headers["Location"] = url_for("api.definition_xml", key=key, version=number)
    return response


@bp.post("/process-definitions/<key>/versions/<int:version>/rollback")
@token_required
def rollback(key: str, version: int):
    body = request.get_json(silent=True)
    note = body.get("note") if isinstance(body, dict) else None
    restored = rollback_version(db.session, key=key, version=version, actor=g.actor, now=clock.now(),
                                note=note if isinstance(note, str) else "")
    row = next(v for v in get_definition(db.session, key).versions if v.version == restored.version)
    response = jsonify(key=key, created=True, restores_version=version, **_version_json(key, row))
    response.status_code = 201
    response.headers["Location"] = url_for("api.definition_xml", key=key, version=restored.version)
    return response


def _chain_json(row: FormChainRow) -> dict:
    return {"form": row.form_key, "title": row.title, "agency": row.agency, "live": row.live, "chosen": row.chosen,
            "processes": [{"key": p.key, "name": p.name, "latest_version": p.latest_version} for p in row.processes]}


@bp.get("/form-chains")
@token_required
def form_chains():
    return jsonify([_chain_json(row) for row in list_form_chains(db.session, actor=g.actor)])


@bp.post("/form-chains/<form_key>")
@token_required
def switch_chain(form_key: str):
    body = json_body()
    process, note, agency = body.get("process"), body.get("note"), body.get("agency")
    agency = agency if isinstance(agency, str) and agency else None
    switch_form_chain(db.session, form_key=form_key, process_key=process if isinstance(process, str) else "",
                      actor=g.actor, now=clock.now(), note=note if isinstance(note, str) else "", agency=agency)
    row = next(r for r in list_form_chains(db.session, actor=g.actor) if r.form_key == form_key and r.agency == agency)
    return jsonify(_chain_json(row))
