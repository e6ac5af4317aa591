"""Applicants file the official forms, follow them, amend after a return, or withdraw."""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from workflows.attachments.records import may_attach
from workflows.errors import IncidentOpened, Invalid
from workflows.filing.applications import (
    amend_application,
    filing_form,
    forms_for,
    may_file,
    submit_application,
    withdraw_application,
)
from workflows.filing.reads import get_application_view, get_returned_view, list_my_applications
from workflows.filing.reveals import reveal_national_id, revealable_fields
from workflows.filing.rewinds import recall_decision, recallable
from workflows.filing.sheets import get_sheets
from workflows.forms import FORMS, FormSpec, form_for
from workflows.oversight.bases import agency_statutes
from workflows.tracking.outline import application_steps

from .. import clock
from ..attachments import EXTRA, PageFiles, filed_files, filing_limit, kept_files, uploads
from ..errors import back_to
from ..extensions import db
from ..i18n import _, same_site_path, tr_message
from ..numbers import small_int
from ..wtforms_builder import apply_errors, form_class, form_data, form_values
from .sheets import pdf_response

bp = Blueprint("applications", __name__, url_prefix="/applications")


def asked_fields(spec: FormSpec) -> tuple:
    """The fields a filer fills: those the code sets from the records (``computed``) are not asked."""
    return tuple(f for f in spec.fields if not f.computed)


def _prefill(spec: FormSpec) -> dict:
    person = current_user
    values = {"name": person.name, "phone": person.phone, "email": person.email, "job_title": person.title,
              "agency_oid": person.agency.oid, "national_id": person.national_id}
    return {f.name: values[f.name] for f in spec.fields if values.get(f.name)}


@bp.get("/new")
@login_required
def choose():
    return render_template("applications/choose.html", forms=forms_for(current_user, clock.today(), db.session))


@bp.route("/new/<form_key>", methods=["GET", "POST"])
@uploads(filing_limit)  # the form with its files (each file within ATTACHMENT_MAX_BYTES)
@login_required
def new(form_key: str):
    if form_key not in FORMS:
        abort(404)
    spec = filing_form(db.session, form_key, current_user)  # 社會局's people fill its own 附表1 (003)
    if not may_file(current_user, spec, clock.today()):
        abort(403)
    asked = asked_fields(spec)
    form = form_class(asked)(data=_prefill(spec) if request.method == "GET" else None)
    files = PageFiles({}, [], {})
    if form.validate_on_submit():
        files = filed_files(asked)  # chosen files become the person's drafts, kept if the form is refused
        try:
            if files.errors:  # a file was refused: nothing is filed without it
                raise Invalid(files.errors)
            app = submit_application(db.session, form_key=form_key, data={**form_values(form, asked),
                                                                           **files.ids},
                                     actor=current_user, now=clock.now(), attachments=files.extra)
        except Invalid as exc:
            apply_errors(form, exc.errors)  # a refused file is its own Invalid
        except IncidentOpened as exc:  # filed, but its chain did not start: the page of the kept application
            flash(tr_message(str(exc)), "error")
            return redirect(url_for("applications.detail", application_id=exc.application_id))
        else:
            flash(_("已送出申請（案號 %(id)s）", id=app.id), "success")
            return redirect(url_for("applications.detail", application_id=app.id))
    return render_template("applications/new.html", spec=spec, form=form, amend=None,
                           kept=kept_files(files), file_errors=files.errors, extra_input=EXTRA,
                           legal_bases=agency_statutes(db.session, current_user.agency_id))


@bp.get("/mine")
@login_required
def mine():
    return render_template("applications/mine.html", views=list_my_applications(db.session, current_user))


@bp.get("/<int:application_id>")
@login_required
def detail(application_id: int):
    view = get_application_view(db.session, application_id, current_user)
    step_names = {h.step: h.step_name for h in view.history} | {t.step: t.name for t in view.current_tasks}
    return render_template("applications/detail.html", view=view,
                           spec=form_for(view.form_key, process=view.definition_key),
                           is_applicant=view.applicant == current_user.username,
                           revealable=revealable_names(application_id), step_names=step_names,
                           may_recall=view.state == "running" and recallable(db.session, application_id, current_user),
                           may_attach=may_attach(db.session, application_id, current_user, clock.now()),
                           steps=application_steps(db.session, application_id, current_user, now=clock.now()))


@bp.post("/<int:application_id>/recall")
@login_required
@back_to("applications.detail")
def recall(application_id: int):
    """Take back one's own decision while the next step has not been acted on (取回)."""
    recall_decision(db.session, application_id=application_id, actor=current_user,
                    reason=request.form.get("reason", ""), now=clock.now())
    flash(_("已取回，案件回到您的待辦事項"), "success")
    return redirect(url_for("inbox.index"))


@bp.get("/<int:application_id>/sheet.pdf")
@login_required
def sheet(application_id: int):
    """The application as its printed form (附表) with the sign-off chain; 404 for whom may not see it."""
    sheets = get_sheets(db.session, [application_id], current_user, clock.now())
    return pdf_response(sheets, f"application-{application_id}.pdf")


@bp.get("/sheets.pdf")
@login_required
@back_to("tracking.search")
def sheets():
    """The sheets of the applications ticked in 案件查詢, as one file (at most MAX_SHEETS)."""
    ids = request.args.getlist("id", type=small_int)
    found = get_sheets(db.session, [i for i in ids if i], current_user, clock.now())
    return pdf_response(found, f"applications-{clock.today()}.pdf")


def revealable_names(application_id: int) -> set[str]:
    """The masked fields the current user may reveal here (a reveal form is shown beside each)."""
    return {f.name for f in revealable_fields(db.session, application_id, current_user, clock.now())}


@bp.post("/<int:application_id>/reveal")
@login_required
def reveal(application_id: int):
    """Show one masked number whole on its own page, never cached; the core records the reveal."""
    back = same_site_path(request.form.get("next")) or url_for("applications.detail", application_id=application_id)
    try:
        revealed = reveal_national_id(db.session, application_id=application_id, field=request.form.get("field", ""),
                                      reason=request.form.get("reason", ""), actor=current_user, now=clock.now())
    except Invalid as exc:  # back where the reason was asked, with what is missing (404 and 403: app-wide)
        flash(_("；").join(map(tr_message, exc.errors.values())), "error")
        return redirect(back)
    response = make_response(render_template("applications/revealed.html", revealed=revealed, back=back))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:application_id>/amend", methods=["GET", "POST"])
@uploads(filing_limit)
@login_required
@back_to("applications.detail")
def amend(application_id: int):
    view = get_returned_view(db.session, application_id, current_user)
    spec = form_for(view.form_key, process=view.definition_key)
    asked = asked_fields(spec)
    form = form_class(asked)(data=form_data(asked, view.data) if request.method == "GET" else None)
    files = PageFiles({f.name: list(view.data.get(f.name) or []) for f in asked if f.type == "attachment"}, [], {})
    if form.validate_on_submit():
        files = filed_files(asked)
        try:
            if files.errors:
                raise Invalid(files.errors)
            amend_application(db.session, application_id=application_id,
                              data={**form_values(form, asked), **files.ids},
                              actor=current_user, now=clock.now(), note=request.form.get("note", ""))
        except Invalid as exc:
            apply_errors(form, exc.errors)  # a refused file is its own Invalid
        else:
            flash(_("已補正並重新送出"), "success")
            return redirect(url_for("applications.detail", application_id=application_id))
    return render_template("applications/new.html", spec=spec, form=form, amend=view,
                           kept=kept_files(files), file_errors=files.errors, extra_input=None,
                           legal_bases=agency_statutes(db.session, current_user.agency_id))


@bp.post("/<int:application_id>/withdraw")
@login_required
@back_to("applications.detail")
def withdraw(application_id: int):
    withdraw_application(db.session, application_id=application_id, actor=current_user, now=clock.now(),
                         reason=request.form.get("reason", ""))
    flash(_("申請已撤回"), "success")
    return redirect(url_for("applications.detail", application_id=application_id))
