"""Attachments as JSON: upload (the body is the file, ?name=, or a multipart ``file``), list, download, withdraw;
drafts for a filing not yet submitted."""

from __future__ import annotations

from flask import g, jsonify, request, url_for

from workflows.attachments.reads import AttachmentRow, list_attachments, list_drafts, own_files
from workflows.attachments.records import (
    Upload,
    add_attachment,
    add_draft,
    read_attachment,
    remove_attachment,
)
from workflows.errors import Invalid

from .. import clock
from ..attachments import download, upload_limit, uploads
from ..extensions import db
from ..numbers import small_int
from . import bp, token_required


def attachment_json(a: AttachmentRow, application_id: int | None) -> dict:
    """What the API says of a file: never its bytes (those only at its own URL)."""
    url = (url_for("api.application_attachment", application_id=application_id, attachment_id=a.id)
           if application_id else None)
    return {"id": a.id, "name": a.file_name, "media_type": a.media_type, "size": a.size, "sha256": a.sha256,
            "label": a.label, "field": a.field, "step": a.step, "uploaded_by": a.uploaded_by,
            "uploaded_at": a.uploaded_at.isoformat(),
            "removed_at": a.removed_at.isoformat() if a.removed_at else None, "removable": a.removable,
            "url": url if not a.removed_at else None}


def _upload() -> Upload:
    """The file: a multipart field ``file``, or the body itself named by ?name=; ?label= says what it is."""
    label = request.args.get("label") or request.form.get("label", "")
    if request.mimetype == "multipart/form-data":
        storage = request.files.get("file")
        if storage is None:
            raise Invalid({"file": "send the file as the multipart field 'file', or as the body itself"})
        return Upload(storage.read(), storage.filename or request.args.get("name", ""), label)
    return Upload(request.get_data(cache=False), request.args.get("name", ""), label)


def _created(a, application_id: int | None):
    (row,) = own_files(db.session, g.actor, [a.id])  # just uploaded: the actor's own, not withdrawn
    response = jsonify(attachment_json(row, application_id))
    response.status_code = 201
    if application_id:
        response.headers["Location"] = url_for("api.application_attachment", application_id=application_id,
                                               attachment_id=a.id)
    return response


@bp.post("/applications/<int:application_id>/attachments")
@uploads(upload_limit)
@token_required
def attach(application_id: int):
    """Attach a file at the step the person holds (?task= picks one when they hold several)."""
    task = request.args.get("task", type=small_int)
    a = add_attachment(db.session, application_id=application_id, upload=_upload(), actor=g.actor, now=clock.now(),
                       task_id=task)
    return _created(a, application_id)


@bp.get("/applications/<int:application_id>/attachments")
@token_required
def application_attachments(application_id: int):
    return jsonify([attachment_json(a, application_id)
                    for a in list_attachments(db.session, application_id, g.actor, clock.now())])


@bp.get("/applications/<int:application_id>/attachments/<int:attachment_id>")
@token_required
def application_attachment(application_id: int, attachment_id: int):
    return download(read_attachment(db.session, attachment_id=attachment_id, application_id=application_id,
                                    viewer=g.actor, now=clock.now()))


@bp.delete("/applications/<int:application_id>/attachments/<int:attachment_id>")
@token_required
def withdraw_attachment(application_id: int, attachment_id: int):
    remove_attachment(db.session, attachment_id=attachment_id, application_id=application_id, actor=g.actor,
                      now=clock.now())
    return "", 204


@bp.post("/attachments")
@uploads(upload_limit)
@token_required
def draft():
    """A file for a filing not yet submitted: name its id in the form's attachment field, or in ``attachments``."""
    return _created(add_draft(db.session, upload=_upload(), actor=g.actor, now=clock.now()), None)


@bp.get("/attachments")
@token_required
def drafts():
    return jsonify([attachment_json(a, None) for a in list_drafts(db.session, g.actor)])


@bp.delete("/attachments/<int:attachment_id>")
@token_required
def withdraw_draft(attachment_id: int):
    remove_attachment(db.session, attachment_id=attachment_id, application_id=None, actor=g.actor, now=clock.now())
    return "", 204
