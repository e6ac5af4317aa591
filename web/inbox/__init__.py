"""The approver's inbox and the task page where a step is decided."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms import RadioField, TextAreaField

from models import TaskState
from workflows.errors import Invalid
from workflows.filing.assignment import claim_task, reassign_task, release_task
from workflows.filing.reads import get_task_page, inbox_counts, list_inbox
from workflows.filing.tasks import complete_task
from workflows.forms import FORMS, decision_label

from .. import clock
from ..applications import revealable_names
from ..errors import back_to
from ..extensions import db
from ..i18n import _, _l, tr_message
from ..wtforms_builder import apply_errors, choices, form_class, form_values

bp = Blueprint("inbox", __name__)


@bp.get("/")
@login_required
def index():
    form_key = request.args.get("form") or None
    if form_key and form_key not in FORMS:
        abort(404)
    rows = list_inbox(db.session, current_user, form_key)
    counts = inbox_counts(db.session, current_user)
    return render_template("inbox/index.html", rows=rows, counts=counts, forms=FORMS, selected=form_key,
                           now=clock.now())


def _decision_form(fields):
    decisions = [(d, decision_label(fields.step, d)) for d in fields.step.decisions]
    extra = {"decision": RadioField(_l("決定"), choices=choices(decisions), default=decisions[0][0]),
             "opinion": TextAreaField(_l("意見"), render_kw={"rows": 3})}
    return form_class(fields.fields, extra)


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
@back_to("inbox.index")
def task(task_id: int):
    page = get_task_page(db.session, task_id, current_user, clock.now())
    row, fields = page.task, page.fields
    if fields.step.key == "amend":  # the applicant corrects a returned application on the form itself
        return redirect(url_for("applications.amend", application_id=row.application_id))
    form = _decision_form(fields)()
    if form.validate_on_submit():
        try:
            complete_task(db.session, task_id=task_id, actor=current_user, decision=form.decision.data,
                          opinion=form.opinion.data or "", data=form_values(form, fields.fields), now=clock.now())
        except Invalid as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("已送出：%(step)s（%(decision)s）", step=row.name,
                    decision=tr_message(decision_label(fields.step, form.decision.data))), "success")
            return redirect(url_for("inbox.index"))
    return render_template("inbox/task.html", task=row, view=page.view, form=form, fields=fields.fields,
                           is_open=row.state == TaskState.OPEN, spec=FORMS[page.view.form_key],
                           revealable=revealable_names(row.application_id))


def _assignment(task_id: int, action, message: str, **kwargs):
    validate_csrf_or_400()
    action(db.session, task_id=task_id, actor=current_user, now=clock.now(), **kwargs)
    flash(message, "success")
    return redirect(url_for("inbox.index"))


@bp.post("/tasks/<int:task_id>/claim")
@login_required
@back_to("inbox.task")
def claim(task_id: int):
    return _assignment(task_id, claim_task, _("已認領，其他承辦人的待辦中將暫不顯示"))


@bp.post("/tasks/<int:task_id>/release")
@login_required
@back_to("inbox.task")
def release(task_id: int):
    return _assignment(task_id, release_task, _("已釋出"))


@bp.post("/tasks/<int:task_id>/reassign")
@login_required
@back_to("inbox.task")
def reassign(task_id: int):
    return _assignment(task_id, reassign_task, _("已改派"), to_username=request.form.get("to", "").strip(),
                       reason=request.form.get("reason", ""))


def validate_csrf_or_400() -> None:
    from flask_wtf.csrf import CSRFError, validate_csrf
    from wtforms import ValidationError

    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError as exc:
        raise CSRFError(str(exc)) from None
