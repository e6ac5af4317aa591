"""Auditors: who saw a national ID number whole, when and why (their agency's; administrators all)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from workflows.calendar import local_date
from workflows.errors import Forbidden
from workflows.runtime.visibility import reads_audit_trail
from workflows.tracking.audit_trail import list_reveals

from .. import clock
from ..extensions import db
from ..header import request_holdings
from ..numbers import small_int

bp = Blueprint("audit", __name__, url_prefix="/audit")


def init(app) -> None:
    @app.context_processor
    def auditing():
        """``may_audit()`` for the header link; asked only when a page renders the header."""
        def may_audit() -> bool:
            return current_user.is_authenticated and reads_audit_trail(db.session, current_user,
                                                                       local_date(clock.now()), request_holdings())
        return {"may_audit": may_audit}


@bp.get("/reveals")
@login_required
def reveals():
    try:
        page = list_reveals(db.session, current_user, now=clock.now(),
                            page=max(1, request.args.get("page", 1, type=small_int)))
    except Forbidden:
        abort(403)
    return render_template("audit/reveals.html", result=page)
