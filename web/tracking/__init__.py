"""Where is it stuck: search and export, the diagram of one application, the bottleneck dashboard."""

from __future__ import annotations

import csv
import io
from itertools import chain

from flask import Blueprint, Response, abort, jsonify, render_template, request, send_file, url_for
from flask_babel import ngettext
from flask_login import current_user, login_required
from wtforms import DateField, Form, IntegerField, SelectField, StringField
from wtforms.validators import NumberRange, Optional, ValidationError

from models import ROLE_LABELS, ApplicationState
from workflows.errors import NotFound
from workflows.filing.reads import get_application_view
from workflows.filing.sheets import MAX_SHEETS
from workflows.forms import FORMS
from workflows.runtime.diagrams import get_version, latest_version
from workflows.tracking.dashboard import dashboard
from workflows.tracking.outline import list_version_steps
from workflows.tracking.search import (
    MAX_WAITING_DAYS,
    Filters,
    list_agencies,
    list_step_names,
    registration_lines,
    search_applications,
)
from workflows.validators import FieldError, bounded_date

from .. import clock
from ..extensions import db
from ..filters import STATE_LABELS, roc_date, roc_datetime
from ..i18n import _, _l, tr, tr_message
from ..numbers import small_int
from ..security import diagram_download
from ..spreadsheet import neutralise_rows
from ..wtforms_builder import choices

bp = Blueprint("tracking", __name__)
EXPORT_LIMIT = 10_000


def _in_range(_form, field) -> None:
    if field.data is None:  # not a date at all: the field has said so already
        return
    try:
        bounded_date(field.data)
    except FieldError as exc:
        raise ValidationError(tr_message(str(exc))) from None


class SearchForm(Form):
    form = SelectField(_l("表單"), validators=[Optional()])
    state = SelectField(_l("狀態"), validators=[Optional()])
    agency = SelectField(_l("機關"), validators=[Optional()])
    applicant = StringField(_l("申請人"), validators=[Optional()])
    step = SelectField(_l("目前步驟"), validators=[Optional()])
    holder = StringField(_l("目前承辦人帳號"), validators=[Optional()])
    waiting = IntegerField(_l("等待超過（天）"), validators=[Optional(), NumberRange(min=0, max=MAX_WAITING_DAYS)])
    created_from = DateField(_l("申請日期起"), validators=[Optional(), _in_range], render_kw={"type": "date"})
    created_to = DateField(_l("申請日期迄"), validators=[Optional(), _in_range], render_kw={"type": "date"})


def _search_form() -> SearchForm:
    form = SearchForm(request.args)
    every = _("全部")
    form.form.choices = choices([("", every), *((k, f.title) for k, f in FORMS.items())])
    form.state.choices = choices([("", every), *((s.value, str(STATE_LABELS[s.value])) for s in ApplicationState)])
    agencies = list_agencies(db.session)
    form.agency.choices = choices([("", every), *((str(i), n) for i, n in agencies)], translate=False)
    # Step names are diagram data (shown as drawn); an id from an older link still filters, listed as given.
    steps = list_step_names(db.session, form.form.data or None)  # a chosen form lists its own steps
    asked = form.step.data
    form.step.choices = choices([("", every), *((n, n) for n in steps),
                                 *([(asked, asked)] if asked and asked not in steps else [])], translate=False)
    return form


def _filters(form: SearchForm) -> Filters:
    form.validate()  # a bad field is shown with its error and left out; the valid ones still filter
    data = {name: (None if field.errors else field.data) for name, field in form._fields.items()}
    return Filters(form=data.get("form") or None, state=data.get("state") or None,
                   agency_id=int(data["agency"]) if data.get("agency") else None,
                   applicant=data.get("applicant") or None, step=data.get("step") or None,
                   holder=data.get("holder") or None, waiting_days=data.get("waiting"),
                   created_from=data.get("created_from"), created_to=data.get("created_to"))


@bp.get("/applications/")
@login_required
def search():
    form = _search_form()
    sort = request.args.get("sort", "-id")
    page = max(1, request.args.get("page", 1, type=small_int))
    result = search_applications(db.session, current_user, _filters(form), now=clock.now(), sort=sort, page=page)
    args = {k: v for k, v in request.args.items() if k not in ("page", "sort")}
    return render_template("tracking/list.html", form=form, result=result, sort=sort, args=args, now=clock.now(),
                           max_sheets=MAX_SHEETS)


EXPORT_HEADER = [_l("案號"), _l("表單"), _l("申請人"), _l("機關"), _l("單位"), _l("狀態"), _l("目前步驟"),
                 _l("目前承辦人"), _l("等待天數"), _l("申請日期"), _l("結案日期"), _l("附件（檔名 SHA-256）"),
                 _l("查調資料（逐筆；身分證字號遮蔽）")]


def _export_header() -> list[str]:
    return [str(h) for h in EXPORT_HEADER]


def _export_rows():
    now = clock.now()
    result = search_applications(db.session, current_user, _filters(_search_form()), now=now,
                                 sort=request.args.get("sort", "-id"), per_page=EXPORT_LIMIT)
    sep = _("、")
    lines = registration_lines(db.session, [a.id for a in result.items])
    for a in result.items:
        yield [a.id, tr(a.form_title), a.applicant, a.agency, a.unit or "", str(STATE_LABELS[a.state]),
               sep.join(t.name for t in a.current), sep.join(h for t in a.current for h in t.holders),
               round((now - a.waiting_since).total_seconds() / 86400, 1) if a.waiting_since else "",
               roc_date(a.created_at), roc_date(a.closed_at),
               sep.join(f"{name} {sha256}" for name, sha256 in a.attachments),  # never a file's content
               _("；").join(_sheet_line(n, row) for n, row in enumerate(lines.get(a.id, ()), start=1))]


def _sheet_line(line: int, row: dict) -> str:
    """One row of a 查調資料登記表: its line, date, subject, masked number and item."""
    return " ".join(str(v) for v in (f"{line}.", roc_date(row.get("query_date")), row.get("subject_name"),
                                     row.get("subject_national_id"), row.get("item")) if v)


def _export_sheet():
    """The header and the rows, every cell made safe to open in a spreadsheet (both formats write this)."""
    return neutralise_rows(chain([_export_header()], _export_rows()))


@bp.get("/applications/export.csv")
@login_required
def export_csv():
    out = io.StringIO()
    csv.writer(out).writerows(_export_sheet())
    # A BOM so Excel on Windows opens the Chinese text as UTF-8.
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=applications-{clock.today()}.csv"})


@bp.get("/applications/export.xlsx")
@login_required
def export_xlsx():
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = _("申請案件")
    for row in _export_sheet():
        sheet.append(row)
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    return send_file(buffer, as_attachment=True, download_name=f"applications-{clock.today()}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/applications/<int:application_id>/trail.json")
@login_required
def trail(application_id: int):
    """What the diagram viewer marks: finished nodes and flows, the current steps and who holds them."""
    view = get_application_view(db.session, application_id, current_user)
    now = clock.now()
    return jsonify(
        xml=url_for("tracking.diagram_xml", key=view.definition_key, version=view.definition_version),
        done=view.trail.get("done", []), flows=view.trail.get("flows", []),
        rewinds=view.trail.get("rewinds", []),
        current=[{"step": t.step, "name": t.name, "role": tr(t.role_label), "holders": t.candidate_names,
                  "since": t.since.isoformat(), "since_text": _since_text(t.since, now),
                  "overdue_days": _overdue(t.due_at, now)} for t in view.current_tasks])


def _since_text(since, now) -> str:
    days = (now - since).days
    return ngettext("自 %(since)s（%(num)s 天）", "自 %(since)s（%(num)s 天）", days, since=roc_datetime(since))


def _overdue(due_at, now) -> float | None:
    return round((now - due_at).total_seconds() / 86400, 1) if due_at and due_at < now else None


@bp.get("/definitions/<key>/versions/<int:version>.bpmn")
@login_required
def diagram_xml(key: str, version: int):
    try:
        row = get_version(db.session, key, version)
    except NotFound:
        abort(404)
    response = diagram_download(row.bpmn_xml, f"{key}-v{version}.bpmn")
    response.set_etag(row.sha256)  # a version never changes: let the browser keep it
    response.cache_control.private = True
    response.cache_control.max_age = 86400
    return response.make_conditional(request)


@bp.get("/dashboard")
@login_required
def dashboard_page():
    form = _search_form()
    filters = _filters(form)
    process = filters.form or next(iter(FORMS))
    board = dashboard(db.session, current_user, now=clock.now(), process=filters.form, agency_id=filters.agency_id,
                      created_from=filters.created_from, created_to=filters.created_to)
    versions = sorted({(s.process, s.version) for s in board.steps if s.process == process})
    version = request.args.get("version", type=small_int) or (
        versions[-1][1] if versions else latest_version(db.session, process).version)
    badges = {s.step: {"count": s.waiting, "median": round(s.median_days, 1)}
              for s in board.steps if s.process == process and s.version == version}
    return render_template("tracking/dashboard.html", form=form, board=board, process=process, version=version,
                           badges=badges, forms=FORMS, roles=ROLE_LABELS,
                           steps=list_version_steps(db.session, process, version))
