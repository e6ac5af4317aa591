"""個人設定: one's own e-mail, notification choice per channel, leave substitute and language."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from workflows.personal.settings import DELIVERY_LABELS, get_settings, update_settings
from workflows.personal.substitutes import end_substitute, find_substitute, set_substitute

from .. import clock
from ..errors import back_to
from ..extensions import db
from ..i18n import LANGUAGES, _

bp = Blueprint("personal", __name__, url_prefix="/settings")


@bp.get("/")
@login_required
def index():
    return render_template("personal/settings.html", settings=get_settings(db.session, current_user),
                           substitute=find_substitute(db.session, current_user, clock.now()),
                           DELIVERY_LABELS=DELIVERY_LABELS, LANGUAGES=LANGUAGES)


@bp.post("/")
@login_required
@back_to("personal.index")
def save():
    form = request.form
    update_settings(db.session, actor=current_user, email=form.get("email", ""), bell=form.get("bell", ""),
                    email_delivery=form.get("email_delivery", ""), locale=form.get("locale") or None,
                    now=clock.now())
    response = redirect(url_for(".index"))
    if form.get("locale") in LANGUAGES:  # this browser follows the choice at once
        response.set_cookie("lang", form["locale"], path="/", samesite="Lax", httponly=True, secure=request.is_secure)
    flash(_("設定已儲存"), "ok")
    return response


@bp.post("/substitute")
@login_required
@back_to("personal.index")
def substitute():
    form = request.form
    set_substitute(db.session, username=current_user.username, substitute=form.get("substitute", "").strip(),
                   valid_from=form.get("from", ""), valid_until=form.get("to", ""), actor=current_user,
                   now=clock.now())
    flash(_("代理人已設定"), "ok")
    return redirect(url_for(".index"))


@bp.post("/substitute/end")
@login_required
@back_to("personal.index")
def end():
    end_substitute(db.session, username=current_user.username, actor=current_user, now=clock.now())
    flash(_("代理已結束"), "ok")
    return redirect(url_for(".index"))
