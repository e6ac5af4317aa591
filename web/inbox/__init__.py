"""The approver's inbox and the task page where a step is decided."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from wtforms import RadioField, TextAreaField

from models import TaskState
from workflows.attachments.records import may_attach
from workflows.errors import Invalid
from workflows.filing.assignment import claim_task, reassign_task, release_task
from workflows.filing.bulk import MAX_BULK, decide_many
from workflows.filing.reads import INBOX_SORTS, InboxQuery, get_task_page, search_inbox
from workflows.filing.rewinds import send_back, send_back_targets
from workflows.filing.tasks import complete_task
from workflows.forms import FORMS, decision_label, form_for

from .. import clock
from ..applications import revealable_names
from ..attachments import PageFiles, filing_limit, kept_files, step_files, uploads
from ..errors import back_to
from ..extensions import db
from ..filters import TAIPEI, roc_date
from ..i18n import _, _l, page_translations, same_site_path, tr, tr_message
from ..numbers import small_int
from ..wtforms_builder import apply_errors, choices, form_class, form_values

bp = Blueprint("inbox", __name__)


def inbox_query(args, per_page: int = 50) -> InboxQuery:
    """The inbox's filters from a query string; an unknown form is a 404, other odd values fall back."""
    form_key = args.get("form") or None
    if form_key and form_key not in FORMS:
        abort(404)
    sort = args.get("sort", "since")
    return InboxQuery(form=form_key, step=(args.get("step") or None), overdue=args.get("overdue") == "1",
                      q=args.get("q", "")[:100], sort=sort if sort.lstrip("-") in INBOX_SORTS else "since",
                      page=max(1, args.get("page", 1, type=small_int) or 1),
                      per_page=min(200, max(1, args.get("per_page", per_page, type=small_int) or per_page)))


@bp.get("/")
@login_required
def index():
    query = inbox_query(request.args)
    now = clock.now()  # one moment for the overdue filter and the rows' days waited and 逾期 marks
    page = search_inbox(db.session, current_user, query, now)
    return render_template("inbox/index.html", page=page, rows=page.rows, rows_html=inbox_rows_html(page.rows, now),
                           counts=page.counts, forms=FORMS, selected=query.form, query=query, now=now,
                           max_bulk=MAX_BULK)


# One inbox row as the page prints it (what the template's row loop printed, character for character): each
# {value} is escaped as Jinja escapes a printed value; the column labels (data-label, for the narrow screen's
# cards) and 逾期 are the page's translations, printed as they are, as the template prints its _() texts.
_ROW = """
    <tr class="inbox-row" data-task="{task}" data-application="{application}">
      <td data-label="{l_pick}">{pick}</td>
      <td data-label="{l_id}">{application}</td>
      <td data-label="{l_form}">{form}</td>
      <td data-label="{l_applicant}">{applicant}<div class="muted small">{agency}</div></td>
      <td data-label="{l_asked}"><dl class="key-fields">{key}</dl></td>
      <td data-label="{l_step}"><a href="{href}" class="task-link">{step}</a><div class="muted small">{role}</div></td>
      <td data-label="{l_since}">{since}</td>
      <td data-label="{l_waited}">{waited}</td>
      <td data-label="{l_due}">{due}</td>
    </tr>
  """
_PICK = """<input type="checkbox" name="task_ids" value="{task}" form="bulk" id="pick-{task}"
            aria-label="{label}">"""
_KEY = "<div><dt>{label}</dt><dd>{value}</dd></div>"
_ROW_LABELS = {"l_pick": "選取", "l_id": "案號", "l_form": "表單", "l_applicant": "申請人", "l_asked": "申請內容",
               "l_step": "待辦步驟", "l_since": "收件時間", "l_waited": "已等待", "l_due": "期限"}


def inbox_rows_html(rows, now: datetime) -> Markup:
    """The table's rows as one piece of markup, built in Python: 50 rows of ~20 printed values each cost the
    template most of its time (an escape, an attribute look-up and a write per value). Same markup and labels as
    the row loop it replaces; every value from the rows is escaped. The same labels, days and day counts recur
    across the rows, so each is translated or formatted once per page (the text the filters ``tr`` and
    ``roc_date``/``roc_datetime``, ``_()`` and ``ngettext`` give), and the task link is the route's prefix and the
    task's number instead of one ``url_for`` per row."""
    catalogue = page_translations()
    columns = {name: catalogue.ugettext(text) for name, text in _ROW_LABELS.items()}
    late = f' <strong class="late">{catalogue.ugettext("逾期")}</strong>'
    labels: dict[str, Any] = {}
    days: dict[date, str] = {}
    waits: dict[int, str] = {}
    pick = _("選取案號 %(id)s")  # plain text, escaped where printed (the catalogue's texts have no markup)
    sample = url_for("inbox.task", task_id=1)
    prefix = sample[:-1] if sample.endswith("/1") else None

    def label(text):  # tr, escaped, once per text
        if not isinstance(text, str):
            return escape(tr(text))
        out = labels.get(text)
        if out is None:
            labels[text] = out = escape(tr(text))
        return out

    def day(value) -> str:  # roc_date, once per calendar day of Taipei
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            value = date.fromisoformat(value)
        if isinstance(value, datetime):
            value = value.astimezone(TAIPEI).date()
        out = days.get(value)
        if out is None:
            days[value] = out = roc_date(value)
        return out

    def waited(n: int) -> str:
        out = waits.get(n)
        if out is None:
            waits[n] = out = escape(catalogue.ungettext("%(num)s 天", "%(num)s 天", n) % {"num": n})
        return out

    # The column labels go into the row's pattern once per page, not into each row's format call.
    row_pattern = _ROW
    for name, text in columns.items():
        row_pattern = row_pattern.replace(f"{{{name}}}", text.replace("{", "{{").replace("}", "}}"))
    out = []
    for r in rows:
        task = str(r.task_id)  # a number: nothing to escape
        local = r.since.astimezone(TAIPEI) if r.since else None
        key = "".join([_KEY.format(label=label(k.label), value=label(k.value) if k.type == "choice" else escape(
            day(k.value) if k.type == "date" else k.value)) for k in r.key])
        due = escape(day(r.due_at)) if r.due_at else ""
        out.append(row_pattern.format(
            task=task, application=str(r.application_id),
            pick=_PICK.format(task=task, label=escape(pick % {"id": r.application_id})) if r.bulk else "",
            form=label(r.form_title), applicant=label(r.applicant), agency=escape(r.agency), key=key,
            href=escape(f"{prefix}{r.task_id}" if prefix is not None else url_for("inbox.task", task_id=r.task_id)),
            step=escape(r.step_name), role=label(r.role_label),
            since=escape(f"{day(local)} {local:%H:%M}") if local else "", waited=waited((now - r.since).days),
            due=(f"{due}{late}" if r.due_at < now else due) if due else "—"))
    return Markup("".join(out))  # noqa: S704 - each value from the rows is escaped above


@bp.post("/tasks/decisions")
@login_required
@back_to("inbox.index")
def decide_selected():
    """Decide the selected rows with one opinion; each row is its own decision and reports on its own."""
    validate_csrf_or_400()
    ids = [int(i) for i in request.form.getlist("task_ids") if i.isdigit() and len(i) < 10]
    outcomes = decide_many(db.session, task_ids=ids, actor=current_user, decision=request.form.get("decision", ""),
                           opinion=request.form.get("opinion", ""), now=clock.now())
    done = [o for o in outcomes if o.ok]
    if done:
        flash(_("已批次決定 %(count)s 件：案號 %(ids)s", count=len(done),
                ids=_("、").join(str(o.application_id) for o in done)), "success")
    for o in outcomes:
        if not o.ok:
            flash(_("待辦 %(task)s 未處理：%(message)s", task=o.task_id, message=tr_message(o.message)), "error")
    return redirect(same_site_path(request.form.get("next")) or url_for("inbox.index"))


def _decision_form(fields):
    decisions = [(d, decision_label(fields.step, d)) for d in fields.step.decisions]
    extra = {"decision": RadioField(_l("決定"), choices=choices(decisions), default=decisions[0][0]),
             "opinion": TextAreaField(_l("意見"), render_kw={"rows": 3})}
    return form_class(fields.fields, extra)


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@uploads(filing_limit)  # a step form's attachment fields: files, each within ATTACHMENT_MAX_BYTES
@login_required
@back_to("inbox.index")
def task(task_id: int):
    page = get_task_page(db.session, task_id, current_user, clock.now())
    row, fields = page.task, page.fields
    if fields.step.key == "amend":  # the applicant corrects a returned application on the form itself
        return redirect(url_for("applications.amend", application_id=row.application_id))
    form = _decision_form(fields)()
    files = PageFiles({}, [], {})
    if form.validate_on_submit():
        files = step_files(fields.fields, row.application_id, task_id)  # attached at the step, kept if refused
        try:
            if files.errors:
                raise Invalid(files.errors)
            complete_task(db.session, task_id=task_id, actor=current_user, decision=form.decision.data,
                          opinion=form.opinion.data or "", data={**form_values(form, fields.fields), **files.ids},
                          now=clock.now())
        except Invalid as exc:
            apply_errors(form, exc.errors)
        else:
            flash(_("已送出：%(step)s（%(decision)s）", step=row.name,
                    decision=tr_message(decision_label(fields.step, form.decision.data))), "success")
            return redirect(url_for("inbox.index"))
    is_open = row.state == TaskState.OPEN
    return render_template("inbox/task.html", task=row, view=page.view, form=form, fields=fields.fields,
                           is_open=is_open, spec=form_for(page.view.form_key, process=page.view.definition_key),
                           revealable=revealable_names(row.application_id),
                           may_attach=is_open and may_attach(db.session, row.application_id, current_user, clock.now()),
                           kept=kept_files(files),
                           targets=send_back_targets(db.session, row) if is_open and row.role != "applicant" else [])


@bp.post("/tasks/<int:task_id>/send-back")
@login_required
@back_to("inbox.task")
def send_back_page(task_id: int):
    validate_csrf_or_400()
    app = send_back(db.session, task_id=task_id, actor=current_user, to_step=request.form.get("to_step", ""),
                    reason=request.form.get("reason", ""), now=clock.now())
    flash(_("已退回前關（案號 %(id)s）", id=app.id), "success")
    return redirect(url_for("inbox.index"))


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
