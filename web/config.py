"""Configuration read from the environment; the defaults run the embedded SQLite demo."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-change-me")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", f"sqlite:///{ROOT / 'instance' / 'webir.sqlite3'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    BPMN_DIR = ROOT / "bpmn" / "kaohsiung"
    JURISDICTION = "kaohsiung"
    API_TOKEN_MAX_AGE = 12 * 3600
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    JSON_AS_ASCII = False
    # Every form and JSON body is small; a view that takes more says so (@body_limit: diagram uploads).
    MAX_CONTENT_LENGTH = 1024 * 1024
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
