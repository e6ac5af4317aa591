"""Log in and out: the core authenticates and keeps the lockout; here only the session cookie and HTTP."""

from __future__ import annotations

from flask import Blueprint, Flask, flash, g, make_response, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from itsdangerous import URLSafeTimedSerializer
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo

from models import Person
from workflows.errors import Invalid
from workflows.identity.authentication import authenticate
from workflows.identity.passwords import change_own_password, password_expired
from workflows.identity.sessions import find_signed_in, find_signed_in_with_header, log_out

from .. import clock
from ..extensions import db, login_manager
from ..header import keep_page_header
from ..i18n import N_, _, _l, gettext, same_site_path, tr_message

bp = Blueprint("auth", __name__)

LOGIN_ENDPOINTS = {"auth.login", "api.login"}


class LoginForm(FlaskForm):
    username = StringField(_l("帳號"), validators=[DataRequired(message=_l("請輸入帳號"))])
    password = PasswordField(_l("密碼"), validators=[DataRequired(message=_l("請輸入密碼"))])


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("目前密碼"), validators=[DataRequired(message=_l("請輸入目前密碼"))])
    new_password = PasswordField(_l("新密碼（至少 8 個字元）"), validators=[DataRequired(message=_l("請輸入新密碼"))])
    confirm = PasswordField(_l("再次輸入新密碼"), validators=[
        DataRequired(message=_l("請再次輸入新密碼")), EqualTo("new_password", message=_l("兩次輸入的新密碼不同"))])


# What a person whose password has expired may still reach: the change itself, log-out, and the page's assets.
PASSWORD_FREE = {"auth.password", "auth.logout", "static", "api.password", "api.logout", "api.login"}
# A GET's page header shows the language, bell count and names read with the person at the request's start:
# no GET changes them before its page renders (GET /lang/<code> sets the language and answers with a redirect).
SAFE_METHODS = {"GET", "HEAD"}


def sign_in(username: str, password: str) -> Person | None:
    """The page's and the API's log-in: the core decides; a failure counts against this address."""
    person = authenticate(db.session, username=username, password=password, now=clock.now(),
                          address=request.remote_addr)
    g.login_failed = person is None
    return person


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie, with its signer built once per key rather than on every request.

    Flask builds a new signer (which runs a trial serialisation) each time a request opens or saves its session,
    also for API calls that carry no cookie. The keys and the signature are Flask's: a change of SECRET_KEY or
    SECRET_KEY_FALLBACKS builds a new one.
    """

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached = app.extensions.get("webir_session_signer")
        if cached is None or cached[0] != keys:
            cached = app.extensions["webir_session_signer"] = (keys, super().get_signing_serializer(app))
        return cached[1]


def init(app: Flask) -> None:
    app.session_interface = SessionCookies()
    login_manager.login_view = "auth.login"
    login_manager.login_message = N_("請先登入")
    login_manager.localize_callback = gettext  # flashed as plain text in the UI language

    @login_manager.user_loader
    def load_user(user_id: str) -> Person | None:
        person_id, _sep, generation = user_id.partition(":")
        if not (person_id.isdigit() and generation.isdigit()):
            return None
        if request.method in SAFE_METHODS:  # a page: what its header shows of the person comes with the person
            found = find_signed_in_with_header(db.session, int(person_id), int(generation))
            return keep_page_header(*found) if found else None
        return find_signed_in(db.session, int(person_id), int(generation))

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        # A form posted after the session went idle: its CSRF secret went with the session. Ask for a log-in,
        # as the page itself would have (the log-in form itself: a fresh one, still refused with 400).
        if current_user.is_authenticated:
            return exc
        flash(_("閒置過久，已自動登出，請重新登入"), "error")
        if request.endpoint == "auth.login":
            return render_template("auth/login.html", form=LoginForm()), 400
        return redirect(url_for("auth.login"))

    _limit_failed_logins(app)

    @app.before_request
    def _expired_password_first():
        # 004 §7: a password past the city's period is changed before anything else is done.
        if request.blueprint == "api" or request.endpoint in PASSWORD_FREE or not current_user.is_authenticated:
            return None
        if password_expired(current_user, clock.now()):
            flash(_("您的密碼已逾變更期限，請先變更密碼"), "error")
            return redirect(url_for("auth.password"))
        return None


def _limit_failed_logins(app: Flask) -> None:
    """Failed log-ins per client address, over the page and the API together (a limiter of this app's own)."""
    limiter = Limiter(get_remote_address, application_limits=[app.config["LOGIN_RATE_LIMIT"]],
                      application_limits_exempt_when=lambda: not _is_login_attempt(),
                      application_limits_deduct_when=lambda _response: g.get("login_failed", False),
                      headers_enabled=True, on_breach=_too_many_failures)
    # Its only limit is the log-in one: any other request skips the limiter's resolving of limits as well,
    # which it would otherwise do on every call of the API and every page.
    limiter.request_filter(lambda: not _is_login_attempt())
    limiter.init_app(app)


def _is_login_attempt() -> bool:
    return request.method == "POST" and request.endpoint in LOGIN_ENDPOINTS


def _too_many_failures(_limit):
    """The log-in page answers a breach with itself; the API's breach is problem+json from the app's mapping."""
    if request.blueprint != "auth":
        return None
    flash(_("此來源登入失敗次數過多，請稍後再試"), "error")
    return make_response(render_template("auth/login.html", form=LoginForm()), 429)


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        person = sign_in(form.username.data, form.password.data)
        if person:
            _start_session(person)
            # Only same-site relative paths: an open redirect would hand the session to another site.
            return redirect(same_site_path(request.args.get("next")) or url_for("inbox.index"))
        flash(_("帳號或密碼錯誤"), "error")
    return render_template("auth/login.html", form=form)


def _start_session(person: Person) -> None:
    session.clear()  # nothing from before the log-in survives it, the CSRF secret included
    session.permanent = True  # the cookie's signature expires SESSION_IDLE_MINUTES after the last request
    login_user(person)


@bp.post("/logout")
@login_required
def logout():
    log_out(db.session, actor=current_user._get_current_object(), now=clock.now())
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    """變更密碼: the person's own; the session goes on under the new password, every other one ends."""
    form = PasswordForm()
    if form.validate_on_submit():
        person = current_user._get_current_object()
        try:
            change_own_password(db.session, actor=person, current=form.current_password.data,
                                new=form.new_password.data, now=clock.now())
        except Invalid as exc:
            for name, message in exc.errors.items():
                getattr(form, name).errors.append(tr_message(message))
        else:
            _start_session(person)
            flash(_("密碼已變更"), "success")
            return redirect(url_for("inbox.index"))
    return render_template("auth/password.html", form=form, expired=password_expired(current_user, clock.now())), (
        422 if form.errors else 200)
