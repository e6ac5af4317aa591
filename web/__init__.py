"""The Flask app: the factory only wires configuration, extensions and blueprints."""

from __future__ import annotations

from flask import Flask

from .config import Config
from .extensions import csrf, db, login_manager, migrate
from .numbers import BoundedIntConverter


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(Config)
    if test_config:
        app.config.update(test_config)

    app.url_map.converters["int"] = BoundedIntConverter  # before any route is registered
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Config.BPMN_DIR.parent.parent / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    with app.app_context():
        from .database import tune_sqlite

        tune_sqlite(db.engine)

    from workflows import settings

    from . import auth, filters, i18n, inputs, scheduler
    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .applications import bp as applications_bp
    from .cli import register_cli
    from .editor import bp as editor_bp
    from .errors import register_error_handlers
    from .inbox import bp as inbox_bp
    from .notifications import bp as notifications_bp
    from .notifications import init as init_notifications
    from .tracking import bp as tracking_bp

    i18n.init_app(app)
    filters.register(app)
    register_error_handlers(app)
    inputs.init_app(app)
    auth.init(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(inbox_bp)
    app.register_blueprint(applications_bp)
    app.register_blueprint(tracking_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(editor_bp)
    init_notifications(app)
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)  # token-authenticated, no cookies
    register_cli(app)
    settings.configure(reminder_working_days=app.config["REMINDER_WORKING_DAYS"],
                       escalation_working_days=app.config["ESCALATION_WORKING_DAYS"],
                       idle_days=app.config["ACCOUNT_IDLE_DAYS"],
                       base_url=app.config["BASE_URL"], mail_from=app.config["MAIL_FROM"])
    scheduler.init_app(app)
    return app
