"""The bell: my notifications, marked read when opened."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from workflows.notify import list_notifications, mark_read, unread_count

from .. import clock
from ..extensions import db
from ..header import page_header
from ..i18n import same_site_path
from ..numbers import small_int

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def init(app) -> None:
    @app.context_processor
    def bell():
        if not current_user.is_authenticated:
            return {}
        header = page_header()
        return {"unread_notifications": header.unread if header is not None else unread_count(db.session,
                                                                                             current_user)}


@bp.get("/")
@login_required
def index():
    return render_template("notifications/index.html", notes=list_notifications(db.session, current_user))


@bp.post("/read")
@login_required
def read():
    note_id = request.form.get("id", type=small_int)
    mark_read(db.session, current_user, clock.now(), note_id)
    return redirect(same_site_path(request.form.get("next")) or url_for(".index"))
