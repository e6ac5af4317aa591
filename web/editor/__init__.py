"""Administrators redraw a chain: edit in the browser, check, deploy a version, compare, move waiting applications."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from models import ROLE_LABELS, Role
from workflows.editor.deploy import KNOWN_ROLES, MAX_DIAGRAM_BYTES, check_xml, deploy_version, rollback_version
from workflows.editor.drafts import deploy_draft, discard_draft, get_draft, is_own_draft, save_draft
from workflows.editor.migration import list_candidates, migrate_application
from workflows.editor.reads import get_definition, list_definitions, list_drafts
from workflows.engine import DiagramError
from workflows.errors import Conflict, Invalid, NotFound
from workflows.forms import STEP_FORMS
from workflows.runtime.diagrams import get_version
from workflows.tracking.outline import list_version_steps

from .. import clock
from ..errors import back_to
from ..extensions import db
from ..i18n import _, _l, tr, tr_message
from ..inputs import body_limit, json_body
from ..numbers import small_int
from ..refusals import paths_json, problems_json
from ..security import diagram_download

bp = Blueprint("editor", __name__, url_prefix="/editor")

# JSON bodies carry the XML plus a note; allow for escaping on top of the diagram limit.
MAX_JSON_BYTES = 2 * MAX_DIAGRAM_BYTES + 64 * 1024
STEP_FORM_LABELS = {"review": _l("審核（同意／不同意／退回補正）"), "account_setup": _l("設定帳號"),
                    "item_review": _l("逐項審核"), "bureau_answer": _l("登錄勞保局審核結果"),
                    "apply_items": _l("套用核准項目"), "amend": _l("申請人補正或撤回")}
NOTIFY_LABELS = {"holder": _l("承辦人（提醒）"), "superior": _l("上級主管（通報）")}


@bp.before_request
@login_required
def _admins_only():
    if not current_user.is_admin:
        abort(403)


def _editor_options() -> dict:
    """What the properties panel may offer: the forms, roles and notify targets the app can run."""
    return {
        "forms": [{"value": k, "label": _("%(label)s（%(key)s）", label=STEP_FORM_LABELS.get(k, k), key=k)}
                  for k in STEP_FORMS],
        "roles": [{"value": r.value, "label": _("%(label)s（%(key)s）", label=tr(ROLE_LABELS[r]), key=r.value)}
                  for r in Role if r != Role.ADMIN and r in KNOWN_ROLES],  # the roles the active pack lists
        "notify": [{"value": k, "label": str(v)} for k, v in NOTIFY_LABELS.items()],
    }




def _json_body() -> dict:
    body = json_body()
    if not isinstance(body.get("xml"), str):
        raise Invalid({"xml": _("請以 JSON 傳送 %(body)s", body='{"xml": ...}')})
    if body.get("draft") is not None and (not isinstance(body["draft"], int) or isinstance(body["draft"], bool)):
        raise Invalid({"draft": _("草稿編號須為整數")})
    return body


@bp.get("/")
def index():
    definitions = list_definitions(db.session)
    steps = {(d.key, v.version): list_version_steps(db.session, d.key, v.version)
             for d in definitions for v in d.versions}
    return render_template("editor/index.html", definitions=definitions, steps=steps,
                           drafts=list_drafts(db.session, viewer=current_user))


@bp.get("/<key>/edit")
def edit(key: str):
    definition = get_definition(db.session, key)
    draft_id = request.args.get("draft", type=small_int)
    draft = get_draft(db.session, draft_id, current_user) if draft_id else None
    if draft and draft.definition_key != key:
        abort(404)
    base = request.args.get("version", type=small_int) or (draft.base_version.version if draft and draft.base_version
                                                     else definition.latest)
    xml_url = url_for("editor.draft_xml", draft_id=draft.id) if draft else \
        url_for("tracking.diagram_xml", key=key, version=base)
    return render_template("editor/edit.html", definition=definition, base=base, draft=draft, xml_url=xml_url,
                           options=_editor_options(), read_only=draft is not None and not is_own_draft(draft,
                                                                                                       current_user))


@bp.get("/drafts/<int:draft_id>.bpmn")
def draft_xml(draft_id: int):
    draft = get_draft(db.session, draft_id, current_user)
    return diagram_download(draft.bpmn_xml, f"{draft.definition_key}-draft-{draft.id}.bpmn")


@bp.post("/<key>/check")
@body_limit(MAX_JSON_BYTES)
def check(key: str):
    """Run the server checks without deploying, so problems show on the diagram while editing."""
    try:
        report = check_xml(_json_body()["xml"].encode())
    except DiagramError as exc:  # unsafe or malformed XML: nothing else was looked at
        return jsonify(ok=False, problems=problems_json(exc.problems), paths=[])
    paths = paths_json(report.paths)
    problems = list(report.problems)
    if report.diagram is not None and report.diagram.process_id != key:
        problems.append((report.diagram.process_id, _("流程代碼須為「%(key)s」", key=key)))
    return jsonify(ok=not problems, problems=problems_json(problems), paths=paths)


@bp.post("/<key>/drafts")
@body_limit(MAX_JSON_BYTES)
def save(key: str):
    body = _json_body()
    draft = save_draft(db.session, key=key, xml=body["xml"].encode(), base_version=body.get("base_version"),
                       note=str(body.get("note") or ""), actor=current_user, now=clock.now(),
                       draft_id=body.get("draft"))
    return jsonify(id=draft.id, url=url_for("editor.edit", key=key, draft=draft.id))


@bp.post("/drafts/<int:draft_id>/discard")
@back_to("editor.index")
def discard(draft_id: int):
    discard_draft(db.session, draft_id, current_user)
    flash(_("已刪除草稿"), "success")
    return redirect(url_for("editor.index"))


@bp.post("/<key>/deploy")
@body_limit(MAX_JSON_BYTES)
def deploy(key: str):
    body = _json_body()
    options = {"key": key, "actor": current_user, "now": clock.now(), "note": str(body.get("note") or ""),
               "jurisdiction": current_app.config["JURISDICTION"]}
    deployment = deploy_draft(db.session, body["xml"].encode(), draft_id=body["draft"], **options) \
        if body.get("draft") is not None else deploy_version(db.session, body["xml"].encode(), **options)
    number = deployment.version.version
    if deployment.equals_earlier:
        flash(_("內容與第 %(number)s 版相同，目前是第 %(latest)s 版；要讓第 %(number)s 版重新生效，"
                "請在版本紀錄按「回復此版」", number=number, latest=deployment.latest), "warning")
    else:
        flash(_("已部署為第 %(number)s 版", number=number) if deployment.created
              else _("內容與第 %(number)s 版相同，未建立新版本", number=number), "success")
    return jsonify(version=number, created=deployment.created,
                   history=url_for("editor.index", _anchor=f"process-{key}")), 201 if deployment.created else 200


@bp.post("/<key>/versions/<int:version>/rollback")
def rollback(key: str, version: int):
    restored = rollback_version(db.session, key=key, version=version, actor=current_user, now=clock.now(),
                                note=request.form.get("note", ""))
    flash(_("已回復第 %(version)s 版，成為第 %(number)s 版", version=version, number=restored.version), "success")
    return redirect(url_for("editor.index", _anchor=f"process-{key}"))


@bp.get("/<key>/diff")
def diff(key: str):
    definition = get_definition(db.session, key)
    latest = definition.latest
    a = request.args.get("a", type=small_int) or max(1, latest - 1)
    b = request.args.get("b", type=small_int) or latest
    for number in (a, b):
        get_version(db.session, key, number)
    return render_template("editor/diff.html", definition=definition, a=a, b=b)


@bp.get("/<key>/migrate")
def migrate_page(key: str):
    definition = get_definition(db.session, key)
    source = request.args.get("from", type=small_int) or definition.versions[0].version
    target = request.args.get("to", type=small_int) or definition.latest
    candidates = list_candidates(db.session, key=key, from_version=source, to_version=target, actor=current_user) \
        if source != target else []
    return render_template("editor/migrate.html", definition=definition, source=source, target=target,
                           candidates=candidates)


@bp.post("/<key>/migrate")
@back_to("editor.index")
def migrate(key: str):
    target = request.form.get("to", type=small_int)
    if target is None:
        raise Invalid({"to": _("請選擇目標版本")})
    moved, refused = [], []
    for application_id in request.form.getlist("application", type=small_int):
        try:
            migrate_application(db.session, application_id=application_id, to_version=target, actor=current_user,
                                now=clock.now())
            moved.append(application_id)
        except (Conflict, NotFound) as exc:
            refused.append(str(exc))
    if moved:
        ids = _("、").join(map(str, moved))
        flash(_("已移轉到第 %(version)s 版：案號 %(ids)s", version=target, ids=ids), "success")
    for reason in refused:
        flash(tr_message(reason), "error")
    return redirect(url_for("editor.migrate_page", key=key, **{"from": request.form.get("from"), "to": target}))
