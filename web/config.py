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
