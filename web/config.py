"""Configuration: the defaults below, then the instance folder's config.py, then WEBIR_* environment variables.

A deployment sets any key either in ``instance/config.py`` (Python: ``MAIL_SERVER = "smtp.example"``) or in
the environment as ``WEBIR_<KEY>``. Environment values are read as JSON where they parse
(``WEBIR_MAIL_PORT=587`` is a number, ``WEBIR_DUTY_SCHEDULES='{"usage_check": null}'`` a mapping), as
text otherwise; the text settings (TEXT) always stay text. DATABASE_URL and SECRET_KEY are also read under
those common names; the old unprefixed names (UNPREFIXED) still work but log the WEBIR_ name to use instead.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from pathlib import Path
from typing import Any

from flask import Config as FlaskConfig

from models.database import SYNCHRONOUS
from workflows import agency_rules, jurisdiction
from workflows.jurisdiction import DEFAULT as DEFAULT_JURISDICTION
from workflows.settings import Settings
from workflows.timers.duties import list_schedules

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "WEBIR"
_CORE = Settings()  # the core's own defaults: each number is written once
log = logging.getLogger(__name__)


class Config:
    """Every default, in one place (the core's five taken from workflows.settings); none reads the environment."""

    # No default: create_app refuses to start without one unless testing or debugging (`make run` writes one
    # to instance/config.py). Anyone who knows the key can sign an administrator's session or API token.
    SECRET_KEY = None
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{ROOT / 'instance' / 'webir.sqlite3'}"
    # ID numbers are sealed with this key (32 bytes, URL-safe base64); else read from DATA_ENCRYPTION_KEY_FILE
    # (default: <instance folder>/data-key). DATA_HASH_KEY keys the ID search hash; derived from the above if unset.
    DATA_ENCRYPTION_KEY = None
    DATA_ENCRYPTION_KEY_FILE = None
    DATA_HASH_KEY = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLITE_SYNCHRONOUS = "NORMAL"  # or FULL: see models/database.py
    # The jurisdiction pack this deployment serves (bpmn/<key>/, docs/jurisdictions.md): WEBIR_JURISDICTION or
    # JURISDICTION in the environment. Its diagrams are BPMN_DIR, which follows it (PACKS_DIR/<key>) unless set.
    JURISDICTION = DEFAULT_JURISDICTION
    PACKS_DIR = ROOT / "bpmn"
    BPMN_DIR = None
    API_TOKEN_MAX_AGE = 12 * 3600
    # A query-log file larger than this is imported by a background job whose progress the page shows
    # (web/oversight/jobs.py); a smaller one in the request.
    QUERY_LOG_BACKGROUND_BYTES = 4 * 1024 * 1024
    # A queued or running import job without a heartbeat (written with each committed chunk) this long has lost
    # its process: the scheduler ends it as failed and removes its staged rows (web/scheduler.py).
    QUERY_LOG_IMPORT_STALE_MINUTES = 10
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # None: Secure exactly when BASE_URL is https (create_app decides); 1 or 0 in the environment overrides.
    SESSION_COOKIE_SECURE = None
    REMEMBER_COOKIE_SECURE = None
    SESSION_IDLE_MINUTES = 30  # sliding: each request restarts it
    # Behind a reverse proxy: how many proxies set X-Forwarded-For / -Proto (the per-address limits need the
    # client's address, and https detection the original scheme). 0: the app faces the clients itself.
    PROXY_COUNT = 0
    # Log-in lockout per account (附表十): LOGIN_MAX_FAILURES failures within LOGIN_WINDOW_MINUTES lock the
    # account for LOGIN_LOCKOUT_MINUTES.
    LOGIN_MAX_FAILURES = _CORE.login_max_failures
    LOGIN_WINDOW_MINUTES = _CORE.login_window_minutes
    LOGIN_LOCKOUT_MINUTES = _CORE.login_lockout_minutes
    # Failed log-ins per client address (Flask-Limiter), across all usernames: stops password spraying that
    # the per-account lockout cannot see. Off while TESTING unless RATELIMIT_ENABLED is given.
    LOGIN_RATE_LIMIT = "20 per 15 minutes"
    # memory:// counts per process; several workers or machines share counts through e.g. redis://host:6379
    # (install the `redis` package) or memcached://host:11211.
    RATELIMIT_STORAGE_URI = "memory://"
    JSON_AS_ASCII = False
    # Every form and JSON body is small; a view that takes more says so (@body_limit: diagram uploads).
    MAX_CONTENT_LENGTH = 1024 * 1024
    LOG_LEVEL = "INFO"  # of the `flask scheduler` and `flask sweep-timers` processes
    SCHEDULER_ENABLED = False
    TIMER_SWEEP_SECONDS = 30
    # e.g. {"usage_check": None, "account_review": {"month": 2, "day": 1}}; a duty the pack ships off (`off: true`)
    # runs only when named here
    DUTY_SCHEDULES: dict = {}
    REMINDER_WORKING_DAYS = _CORE.reminder_working_days
    ESCALATION_WORKING_DAYS = _CORE.escalation_working_days
    ACCOUNT_IDLE_DAYS = _CORE.idle_days  # yearly review: 長期閒置 after this
    BASE_URL = _CORE.base_url  # PORT in the environment moves it to http://127.0.0.1:$PORT
    MAIL_SERVER = "localhost"
    MAIL_PORT = 25
    MAIL_FROM = _CORE.mail_from
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_USE_TLS = False
    # None below: the jurisdiction pack's value (its settings:), else the core's default (Kaohsiung's).
    # Query logs: a query outside office hours is flagged only where the rules forbid it (Taipei 002 §6(3)).
    OFFICE_HOURS_ONLY = None
    OFFICE_HOURS_START = None  # Taipei local time on working days, HH:MM
    OFFICE_HOURS_END = None
    # A violation's review report is due this many calendar days after its case opens (003 §8: 十日); an agency
    # may have its own: {"KHH-SW": 10, "KHH-EP": 7} by agency code.
    VIOLATION_REPORT_DAYS = None
    VIOLATION_REPORT_DAYS_BY_AGENCY: dict = {}
    # Years each record type is kept before it is proposed for destruction (001 §11; Taipei 002 §7: 3); a mapping
    # may name only some, e.g. WEBIR_RETENTION_YEARS='{"applications": 3}' (the others keep the pack's).
    RETENTION_YEARS = None
    # Months between password changes (Taoyuan 004 §7); None: the pack's (Kaohsiung: none).
    PASSWORD_CHANGE_MONTHS = None
    # The largest attachment (PDF, JPEG, PNG) in bytes; the upload routes take a body this large, no other route.
    ATTACHMENT_MAX_BYTES = _CORE.attachment_max_bytes


# The core's settings (workflows.settings) and the key each is read from.
CORE_SETTINGS = {"REMINDER_WORKING_DAYS": "reminder_working_days", "ESCALATION_WORKING_DAYS": "escalation_working_days",
                 "ACCOUNT_IDLE_DAYS": "idle_days", "BASE_URL": "base_url", "MAIL_FROM": "mail_from",
                 "LOGIN_MAX_FAILURES": "login_max_failures", "LOGIN_WINDOW_MINUTES": "login_window_minutes",
                 "LOGIN_LOCKOUT_MINUTES": "login_lockout_minutes"}
# Twelve-factor names every platform sets; read as well as their WEBIR_ form, which wins.
COMMON_NAMES = {"DATABASE_URL": "SQLALCHEMY_DATABASE_URI", "SECRET_KEY": "SECRET_KEY",
                "DATA_ENCRYPTION_KEY": "DATA_ENCRYPTION_KEY", "DATA_ENCRYPTION_KEY_FILE": "DATA_ENCRYPTION_KEY_FILE",
                "DATA_HASH_KEY": "DATA_HASH_KEY"}
# Read without the prefix until deployments have moved to WEBIR_<name>; each use logs a warning.
UNPREFIXED = ("BASE_URL", "MAIL_SERVER", "MAIL_PORT", "MAIL_FROM", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_USE_TLS",
              "SCHEDULER_ENABLED", "TIMER_SWEEP_SECONDS", "REMINDER_WORKING_DAYS", "ESCALATION_WORKING_DAYS",
              "ACCOUNT_IDLE_DAYS", "SQLITE_SYNCHRONOUS")
# Never parsed as JSON: a password 123456 must reach the mail server as text, not as a number.
TEXT = ("SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "BASE_URL", "MAIL_SERVER", "MAIL_FROM", "MAIL_USERNAME",
        "MAIL_PASSWORD", "SQLITE_SYNCHRONOUS", "LOG_LEVEL", "DATA_ENCRYPTION_KEY", "DATA_ENCRYPTION_KEY_FILE",
        "DATA_HASH_KEY", "LOGIN_RATE_LIMIT", "RATELIMIT_STORAGE_URI")
FLAGS = ("SCHEDULER_ENABLED", "MAIL_USE_TLS")
WHOLE_NUMBERS = {"MAIL_PORT": (1, 65535), "TIMER_SWEEP_SECONDS": (1, 86400), "REMINDER_WORKING_DAYS": (1, 365),
                 "ESCALATION_WORKING_DAYS": (1, 365), "ACCOUNT_IDLE_DAYS": (1, 36500),
                 "SESSION_IDLE_MINUTES": (1, 1440), "PROXY_COUNT": (0, 10), "LOGIN_MAX_FAILURES": (1, 100),
                 "LOGIN_WINDOW_MINUTES": (1, 1440), "LOGIN_LOCKOUT_MINUTES": (1, 1440),
                 "QUERY_LOG_IMPORT_STALE_MINUTES": (1, 1440)}

CORE_SETTINGS.update({"OFFICE_HOURS_ONLY": "office_hours_only", "OFFICE_HOURS_START": "office_hours_start",
                      "OFFICE_HOURS_END": "office_hours_end"})
TEXT += ("OFFICE_HOURS_START", "OFFICE_HOURS_END")
FLAGS += ("OFFICE_HOURS_ONLY",)
CORE_SETTINGS.update({"VIOLATION_REPORT_DAYS": "violation_report_days",
                      "VIOLATION_REPORT_DAYS_BY_AGENCY": "violation_report_days_by_agency"})
WHOLE_NUMBERS["VIOLATION_REPORT_DAYS"] = (1, 365)
CORE_SETTINGS["RETENTION_YEARS"] = "retention_years"
CORE_SETTINGS["PASSWORD_CHANGE_MONTHS"] = "password_change_months"
TEXT += ("JURISDICTION", "PACKS_DIR", "BPMN_DIR")
CORE_SETTINGS["ATTACHMENT_MAX_BYTES"] = "attachment_max_bytes"
WHOLE_NUMBERS["ATTACHMENT_MAX_BYTES"] = (1024, 100 * 1024 * 1024)


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it."""


def load_config(config: FlaskConfig) -> None:
    """Fill ``config``: the defaults, then ``config.py`` in the instance folder, then the environment."""
    env = os.environ
    config.from_mapping(copy.deepcopy({k: v for k, v in vars(Config).items() if k.isupper()}))
    if "PORT" in env:  # the demo's own address when served on another port (make run PORT=...)
        config["BASE_URL"] = f"http://127.0.0.1:{env['PORT']}"
    config.from_pyfile("config.py", silent=True)
    for name in UNPREFIXED:
        if name in env and f"{PREFIX}_{name}" not in env:
            log.warning("%s is read for now; set %s_%s instead", name, PREFIX, name)
            config[name] = env[name] if name in TEXT else _parse(env[name])
    for name, key in COMMON_NAMES.items():
        value = env.get(f"{PREFIX}_{name}", env.get(name))
        if value is not None:
            config[key] = value
    config.from_prefixed_env(PREFIX)
    for key in TEXT:
        if f"{PREFIX}_{key}" in env:
            config[key] = env[f"{PREFIX}_{key}"]
    if "JURISDICTION" in env and f"{PREFIX}_JURISDICTION" not in env:  # `JURISDICTION=taoyuan make run`
        config["JURISDICTION"] = env["JURISDICTION"]
    if config["SQLALCHEMY_DATABASE_URI"] == Config.SQLALCHEMY_DATABASE_URI and \
            config["JURISDICTION"] != DEFAULT_JURISDICTION:  # each city's demo in its own file
        name = f"webir-{config['JURISDICTION']}.sqlite3"
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{ROOT / 'instance' / name}"


class PackRefused(ConfigError):
    """The jurisdiction pack has problems: the app does not start. ``problems`` lists every one."""

    def __init__(self, key: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"JURISDICTION {key!r}: the pack has {len(problems)} problem(s):\n"
                         + "\n".join(f"  - {p}" for p in problems))


# The config keys a pack's settings: give (None in the config: take the pack's).
PACK_SETTINGS = {"OFFICE_HOURS_ONLY": lambda s: s["office_hours_only"],
                 "OFFICE_HOURS_START": lambda s: s["office_hours"][0],
                 "OFFICE_HOURS_END": lambda s: s["office_hours"][1],
                 "VIOLATION_REPORT_DAYS": lambda s: s["violation_report_days"],
                 "PASSWORD_CHANGE_MONTHS": lambda s: s["password_change_months"]}


def pack_problems(key: str, root: Path) -> list[str]:
    """Every problem of the pack, then (when it has none) of its agencies' own rules (003): the start's and
    ``flask pack check``'s list."""
    problems = jurisdiction.check_pack(key, root)
    return problems or agency_rules.check_layers(key, root)


def load_pack(config: FlaskConfig) -> jurisdiction.Pack:
    """Check the JURISDICTION's pack (every problem: PackRefused), make it the process's one, take its settings.

    BPMN_DIR follows the pack unless set; the settings left None take the pack's values, and RETENTION_YEARS names
    only the record types it changes.
    """
    key, root = config["JURISDICTION"], Path(config["PACKS_DIR"])
    if not isinstance(key, str) or not key:
        raise ConfigError(f"JURISDICTION must name a pack (a folder of {root}), got {key!r}")
    problems = pack_problems(key, root)
    if problems:
        raise PackRefused(key, problems)
    pack = jurisdiction.activate(key, root)
    config["PACKS_DIR"] = root
    config["BPMN_DIR"] = pack.directory if config.get("BPMN_DIR") is None else Path(config["BPMN_DIR"])
    for name, value in PACK_SETTINGS.items():
        if config.get(name) is None:
            config[name] = value(pack.settings)
    retention = config.get("RETENTION_YEARS")
    if retention is None or isinstance(retention, dict):  # anything else is refused by check_config
        config["RETENTION_YEARS"] = {**pack.settings["retention_years"], **(retention or {})}
    return pack


def _parse(value: str) -> Any:
    """An environment value as from_prefixed_env reads it: JSON where it parses, else the text."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def check_config(config: FlaskConfig) -> None:
    """Refuse at start-up a setting that cannot work, naming it and the value it got."""
    for key in FLAGS:
        value = False if config[key] in ("", None) else config[key]
        if value not in (True, False):  # 1 and 0 compare equal to True and False
            raise ConfigError(f"{key} must be true or false (or 1 or 0), got {value!r}")
        config[key] = bool(value)
    for key, (low, high) in WHOLE_NUMBERS.items():
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"{key} must be a whole number from {low} to {high}, got {value!r}")
    _check_choice(config, "SQLITE_SYNCHRONOUS", SYNCHRONOUS)
    _check_choice(config, "LOG_LEVEL", tuple(logging.getLevelNamesMapping()))
    months = config["PASSWORD_CHANGE_MONTHS"]
    if months is not None and (isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 120):
        raise ConfigError(f"PASSWORD_CHANGE_MONTHS must be a whole number from 1 to 120 (or null), got {months!r}")
    by_agency = config["VIOLATION_REPORT_DAYS_BY_AGENCY"]
    if not isinstance(by_agency, dict) or not all(
            isinstance(days, int) and not isinstance(days, bool) and 1 <= days <= 365 for days in by_agency.values()):
        raise ConfigError("VIOLATION_REPORT_DAYS_BY_AGENCY must map agency codes to whole numbers of days from 1 to "
                          f"365, got {by_agency!r}")
    _check_retention(config)
    try:
        list_schedules(config["DUTY_SCHEDULES"])
    except ValueError as exc:
        raise ConfigError(f"DUTY_SCHEDULES: {exc}") from None


def _check_retention(config: FlaskConfig) -> None:
    """RETENTION_YEARS: known record types, whole years from 1 to 100; the ones not named keep their default."""
    value, known = config["RETENTION_YEARS"], jurisdiction.active().settings["retention_years"]
    if not isinstance(value, dict):
        raise ConfigError(f"RETENTION_YEARS must be a mapping of record type to years, got {value!r}")
    for kind, years in value.items():
        if kind not in known:
            raise ConfigError(f"RETENTION_YEARS: unknown record type {kind!r}; the types are {', '.join(known)}")
        if isinstance(years, bool) or not isinstance(years, int) or not 1 <= years <= 100:
            raise ConfigError(f"RETENTION_YEARS: {kind} must be a whole number of years from 1 to 100, got {years!r}")
    config["RETENTION_YEARS"] = {**known, **value}


def _check_choice(config: FlaskConfig, key: str, choices: tuple[str, ...]) -> None:
    value = str(config[key]).upper()
    if value not in choices:
        raise ConfigError(f"{key} must be one of {', '.join(choices)}, got {config[key]!r}")
    config[key] = value


def core_settings(config: FlaskConfig) -> dict[str, Any]:
    """The values for ``workflows.settings.configure``."""
    return {name: config[key] for key, name in CORE_SETTINGS.items()}
