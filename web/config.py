"""Configuration read from the environment; the defaults run the embedded SQLite demo."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _flag(name: str) -> bool | None:
    """An on/off setting from the environment; None when it is not set."""
    value = os.environ.get(name)
    return None if value is None else value.lower() in ("1", "true", "yes", "on")


class Config:
    # No default: create_app refuses to start without one unless testing or debugging (`make run` writes one
    # to instance/config.py). Anyone who knows the key can sign an administrator's session or API token.
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", f"sqlite:///{ROOT / 'instance' / 'webir.sqlite3'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    BPMN_DIR = ROOT / "bpmn" / "kaohsiung"
    JURISDICTION = "kaohsiung"
    API_TOKEN_MAX_AGE = 12 * 3600
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # None: Secure exactly when BASE_URL is https (create_app decides); 1 or 0 in the environment overrides.
    SESSION_COOKIE_SECURE = _flag("SESSION_COOKIE_SECURE")
    REMEMBER_COOKIE_SECURE = _flag("SESSION_COOKIE_SECURE")
    SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "30"))  # sliding: each request restarts it
    # Behind a reverse proxy: how many proxies set X-Forwarded-For / -Proto (the per-address limits need the
    # client's address, and https detection the original scheme). 0: the app faces the clients itself.
    PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0"))
    # Log-in lockout per account (附表十): LOGIN_MAX_FAILURES failures within LOGIN_WINDOW_MINUTES lock the
    # account for LOGIN_LOCKOUT_MINUTES.
    LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
    LOGIN_WINDOW_MINUTES = int(os.environ.get("LOGIN_WINDOW_MINUTES", "15"))
    LOGIN_LOCKOUT_MINUTES = int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15"))
    # Failed log-ins per client address (Flask-Limiter), across all usernames: stops password spraying that
    # the per-account lockout cannot see. Off while TESTING unless RATELIMIT_ENABLED is given.
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "20 per 15 minutes")
    # memory:// counts per process; several workers or machines share counts through e.g. redis://host:6379
    # (install the `redis` package) or memcached://host:11211.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    JSON_AS_ASCII = False
    SCHEDULER_ENABLED = os.environ.get("SCHEDULER_ENABLED", "") == "1"
    TIMER_SWEEP_SECONDS = int(os.environ.get("TIMER_SWEEP_SECONDS", "30"))
    DUTY_SCHEDULES: dict = {}  # e.g. {"password_reminder": None, "account_review": {"month": 2, "day": 1}}
    REMINDER_WORKING_DAYS = int(os.environ.get("REMINDER_WORKING_DAYS", "3"))
    ESCALATION_WORKING_DAYS = int(os.environ.get("ESCALATION_WORKING_DAYS", "5"))
    ACCOUNT_IDLE_DAYS = int(os.environ.get("ACCOUNT_IDLE_DAYS", "180"))  # yearly review: 長期閒置 after this
    BASE_URL = os.environ.get("BASE_URL", f"http://127.0.0.1:{os.environ.get('PORT', '5000')}")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_FROM = os.environ.get("MAIL_FROM", "webir-bpm@localhost")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "") == "1"
