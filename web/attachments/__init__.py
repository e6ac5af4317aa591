"""Attachments on the pages: upload at one's step (or to a returned application), download, withdraw.

The upload routes alone take a body as large as ATTACHMENT_MAX_BYTES (and a little for the form around it);
every other route keeps MAX_CONTENT_LENGTH. The content is checked by the core, never here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import quote

from flask import Blueprint, Response, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import FileStorage

from workflows.attachments.reads import AttachmentRow, own_files
from workflows.attachments.records import (
    AttachmentFile,
    Upload,
    add_attachment,
    add_draft,
    read_attachment,
    remove_attachment,
)
from workflows.errors import Invalid
from workflows.forms import Field

from .. import clock
from ..errors import back_to
from ..extensions import db
from ..filters import filesize
from ..i18n import _, same_site_path
from ..inputs import body_limit

bp = Blueprint("attachments", __name__, url_prefix="/applications")
FORM_OVERHEAD = 64 * 1024  # the multipart boundaries and the fields beside the file
MAX_FILES_PER_FILING = 5  # files one filing page may send at once (each within the limit)


def too_large() -> str:
    """What a 413 of an upload route says: the limit of one file."""
    return _("送出的檔案超過上限 %(size)s，請壓縮或分頁掃描後再上傳",
             size=filesize(current_app.config["ATTACHMENT_MAX_BYTES"]))


def uploads(limit):
    """An upload route: its body limit (read per request) and its 413's message, when the limit was a file's."""
    def mark(view):
        view.too_large = lambda: too_large() if limit() is not None else None
        return body_limit(limit)(view)
    return mark


def upload_limit() -> int:
    """One file at its largest, with the form around it."""
    return current_app.config["ATTACHMENT_MAX_BYTES"] + FORM_OVERHEAD


def filing_limit() -> int | None:
    """A filing page with its files; sent without files (not multipart), the usual limit. In a multipart body the
    fields beside the files stay within MAX_FORM_MEMORY_SIZE, so only files make it larger."""
    if request.mimetype != "multipart/form-data":
        return None
    return current_app.config["ATTACHMENT_MAX_BYTES"] * MAX_FILES_PER_FILING + FORM_OVERHEAD


def upload_of(storage: FileStorage, label: str = "", field: str | None = None) -> Upload:
    return Upload(storage.read(), storage.filename or "", label, field)


def chosen_files(name: str) -> list[FileStorage]:
    """The files chosen in one file input (an empty input sends one part with no name)."""
    return [f for f in request.files.getlist(name) if f and f.filename]


EXTRA = "attachments"  # the filing page's input for files no field of the form names


def _kept(name: str) -> list[int]:
    return [int(i) for i in request.form.getlist(f"{name}__kept") if i.isdigit() and len(i) < 10]


def _take_chosen(names: list[str], save: Callable[[FileStorage, str], int]) -> tuple[dict[str, list[int]],
                                                                                   dict[str, str]]:
    """Each input's files: the ids the page already carried, and each chosen file saved (its own transaction, so a
    refusal of the form keeps it); a refusal per input whose file was not taken (the rest are kept)."""
    ids: dict[str, list[int]] = {name: _kept(name) for name in names}
    errors: dict[str, str] = {}
    for name in names:
        for storage in chosen_files(name)[:MAX_FILES_PER_FILING]:
            try:
                saved = save(storage, name)
            except Invalid as exc:
                db.session.rollback()
                errors[name] = exc.errors.get("file") or next(iter(exc.errors.values()))
            else:
                ids[name].append(saved)
    return ids, errors


class PageFiles(NamedTuple):
    """A form page's files after a post: the attachment fields' ids, the ids of files no field names (the filing
    page's extra input) and a refusal per input whose file was not taken."""

    ids: dict[str, list[int]]
    extra: list[int]
    errors: dict[str, str]


def filed_files(fields: tuple[Field, ...]) -> PageFiles:
    """The filing page's files: each chosen file saved as the person's draft, merged with the drafts the page
    already carried."""
    def draft(storage: FileStorage, name: str) -> int:
        return add_draft(db.session, upload=upload_of(storage, field=None if name == EXTRA else name),
                         actor=current_user, now=clock.now()).id

    ids, errors = _take_chosen([f.name for f in fields if f.type == "attachment"] + [EXTRA], draft)
    extra = ids.pop(EXTRA)
    return PageFiles(ids, extra, errors)


def step_files(fields: tuple[Field, ...], application_id: int, task_id: int) -> PageFiles:
    """A step form's attachment fields: each chosen file attached at the step, merged with the ones the page
    already carried; a refusal per field whose file was not taken."""
    def attach(storage: FileStorage, name: str) -> int:
        return add_attachment(db.session, application_id=application_id, task_id=task_id,
                              upload=upload_of(storage, field=name), actor=current_user, now=clock.now()).id

    ids, errors = _take_chosen([f.name for f in fields if f.type == "attachment"], attach)
    return PageFiles(ids, [], errors)


def kept_files(files: PageFiles) -> dict[str, list[AttachmentRow]]:
    """What the page shows as already carried, per input."""
    return {name: own_files(db.session, current_user, list_)
            for name, list_ in {**files.ids, EXTRA: files.extra}.items()}


def download(found: AttachmentFile) -> Response:
    """The file as a download of its detected type, never opened inline, never sniffed, never cached."""
    response = Response(found.content, mimetype=found.media_type)
    ascii_name = found.file_name.encode("ascii", "replace").decode().replace("?", "_")
    response.headers["Content-Disposition"] = (f'attachment; filename="{ascii_name}"; '
                                               f"filename*=UTF-8''{quote(found.file_name)}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"  # personal data: never kept by a shared cache
    response.headers["ETag"] = f'"{found.sha256}"'
    return response


def _back(application_id: int) -> str:
    return same_site_path(request.form.get("next")) or url_for("applications.detail", application_id=application_id)


@bp.post("/<int:application_id>/attachments")
@uploads(upload_limit)
@login_required
@back_to("applications.detail")
def upload(application_id: int):
    """Attach a file at the step the person holds (the task page), or to their returned application."""
    files = chosen_files("file")
    if not files:
        raise Invalid({"file": "請選擇要上傳的檔案"})
    task = request.form.get("task", "")
    add_attachment(db.session, application_id=application_id, upload=upload_of(files[0], request.form.get("label", "")),
                   actor=current_user, now=clock.now(),
                   task_id=int(task) if task.isdigit() and len(task) < 10 else None)
    flash(_("已上傳附件：%(name)s", name=files[0].filename), "success")
    return redirect(_back(application_id))


@bp.get("/<int:application_id>/attachments/<int:attachment_id>")
@login_required
def file(application_id: int, attachment_id: int):
    return download(read_attachment(db.session, attachment_id=attachment_id, application_id=application_id,
                                    viewer=current_user, now=clock.now()))


@bp.post("/<int:application_id>/attachments/<int:attachment_id>/remove")
@login_required
@back_to("applications.detail")
def remove(application_id: int, attachment_id: int):
    removed = remove_attachment(db.session, attachment_id=attachment_id, application_id=application_id,
                                actor=current_user, now=clock.now())
    flash(_("已撤回附件：%(name)s", name=removed.file_name), "success")
    return redirect(_back(application_id))
