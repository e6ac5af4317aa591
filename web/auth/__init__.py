"""Log in and out with a username and a hashed password."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from models import Person
from workflows.access import authenticate

from ..extensions import db, login_manager
from ..i18n import N_, _, _l, gettext, same_site_path

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("帳號"), validators=[DataRequired(message=_l("請輸入帳號"))])
    password = PasswordField(_l("密碼"), validators=[DataRequired(message=_l("請輸入密碼"))])


def find_person(username: str, password: str) -> Person | None:
    return authenticate(db.session, username, password)


def init(app) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = N_("請先登入")
    login_manager.localize_callback = gettext  # flashed as plain text in the UI language

    @login_manager.user_loader
    def load_user(user_id: str) -> Person | None:
        return db.session.get(Person, int(user_id))


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        person = find_person(form.username.data, form.password.data)
        if person:
            login_user(person)
            # Only same-site relative paths: an open redirect would hand the session to another site.
            return redirect(same_site_path(request.args.get("next")) or url_for("inbox.index"))
        flash(_("帳號或密碼錯誤"), "error")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    return redirect(url_for("auth.login"))
