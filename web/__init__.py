"""The Flask app: the factory only wires configuration, extensions and blueprints."""

from __future__ import annotations

import secrets
import sys
from datetime import timedelta

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import datakey
from .config import ROOT, PackRefused, check_config, core_settings, load_config, load_pack
from .extensions import csrf, db, login_manager, migrate
from .numbers import BoundedIntConverter


def create_app(test_config: dict | None = None, instance_path: str | None = None) -> Flask:
    """The app; its settings come from web/config.py, instance/config.py, WEBIR_* variables, then test_config."""
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    load_config(app.config)
    if test_config:
        app.config.update(test_config)
    try:
        load_pack(app.config)  # before anything reads the forms, the roles or the duties of the pack
    except PackRefused as refused:
        for problem in refused.problems:  # every one, where the person starting the app reads them
            print(f"jurisdiction pack {app.config['JURISDICTION']!r}: {problem}", file=sys.stderr)
        raise
    check_config(app.config)
    _secure_sessions(app)
    datakey.init_app(app)

    app.url_map.converters["int"] = BoundedIntConverter  # before any route is registered
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    with app.app_context():
        from models.database import tune_sqlite

        tune_sqlite(db.engine, app.config["SQLITE_SYNCHRONOUS"])

    from workflows import settings

    from . import auth, filters, header, i18n, inputs, scheduler, security
    from .accounts import bp as accounts_bp
    from .accounts import init as init_accounts
    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .applications import bp as applications_bp
    from .attachments import bp as attachments_bp
    from .audit import bp as audit_bp
    from .audit import init as init_audit
    from .cli import register_cli
    from .editor import bp as editor_bp
    from .errors import register_error_handlers
    from .inbox import bp as inbox_bp
    from .notifications import bp as notifications_bp
    from .notifications import init as init_notifications
    from .org import bp as org_bp
    from .oversight import bp as oversight_bp
    from .oversight import init as init_oversight
    from .personal import bp as personal_bp
    from .tracking import bp as tracking_bp

    security.init_app(app)
    i18n.init_app(app)
    filters.register(app)
    header.init_app(app)
    register_error_handlers(app)
    inputs.init_app(app)
    auth.init(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(inbox_bp)
    app.register_blueprint(applications_bp)
    app.register_blueprint(attachments_bp)
    app.register_blueprint(tracking_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(org_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(oversight_bp)
    app.register_blueprint(accounts_bp)
    init_accounts(app)
    app.register_blueprint(personal_bp)
    init_audit(app)
    init_oversight(app)
    app.register_blueprint(editor_bp)
    init_notifications(app)
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)  # token-authenticated, no cookies
    register_cli(app)
    settings.configure(**core_settings(app.config))  # the web app and `flask scheduler` both start here
    scheduler.init_app(app)
    return app


# Published in this repository's history: a key anyone can read signs anyone's session.
KNOWN_KEYS = {"dev-only-change-me"}


class MissingSecretKey(RuntimeError):
    pass


def _secure_sessions(app: Flask) -> None:
    """Refuse a missing or published SECRET_KEY; cookie flags, idle expiry and proxy headers from the config."""
    if not app.config.get("SECRET_KEY") or app.config["SECRET_KEY"] in KNOWN_KEYS:
        if not (app.testing or app.debug):
            raise MissingSecretKey(
                "SECRET_KEY is not set (or is the published development key): set the SECRET_KEY environment "
                "variable or put SECRET_KEY = '...' in instance/config.py (`make run` writes a random one).")
        app.config["SECRET_KEY"] = secrets.token_hex(32)  # this process only: sessions end when it stops
    https = app.config["BASE_URL"].startswith("https://")
    for name in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if app.config.get(name) is None:
            app.config[name] = https
    if https:
        app.config["PREFERRED_URL_SCHEME"] = "https"
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    app.config.setdefault("RATELIMIT_ENABLED", not app.testing)
    if app.config["PROXY_COUNT"]:
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]
