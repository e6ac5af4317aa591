"""Settings come from web/config.py, the instance folder's config.py and WEBIR_* variables, in that order."""

from __future__ import annotations

import dataclasses
import logging
import os

import pytest
from flask.cli import ScriptInfo

from models import sealing
from web import create_app
from web.config import COMMON_NAMES, PREFIX, UNPREFIXED, ConfigError
from web.extensions import db
from web.scheduler import schedules
from workflows import settings
from workflows.settings import SETTINGS, timer_data
from workflows.timers import duties


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No deployment variables from the machine running the tests; the core's settings put back afterwards."""
    for name in list(os.environ):
        if name.startswith(f"{PREFIX}_") or name in UNPREFIXED or name in COMMON_NAMES or name == "PORT":
            monkeypatch.delenv(name)
    before = dataclasses.asdict(SETTINGS)
    yield
    settings.configure(**before)


def test_the_defaults_run_the_demo(make_app):
    app = make_app()
    assert app.config["MAIL_PORT"] == 25 and app.config["SCHEDULER_ENABLED"] is False
    assert dataclasses.asdict(SETTINGS) == dataclasses.asdict(settings.Settings())
    assert schedules(app) == duties.SCHEDULES  # every Kaohsiung duty on; no password reminder (Taoyuan's, 004 §7)
    assert "password_reminder" not in [s.name for s in duties.SCHEDULES]


def test_prefixed_variables_reach_the_core_and_the_duties(make_app, monkeypatch):
    monkeypatch.setenv("WEBIR_REMINDER_WORKING_DAYS", "4")
    monkeypatch.setenv("WEBIR_ESCALATION_WORKING_DAYS", "7")
    monkeypatch.setenv("WEBIR_ACCOUNT_IDLE_DAYS", "90")
    monkeypatch.setenv("WEBIR_BASE_URL", "https://webir.example")
    monkeypatch.setenv("WEBIR_MAIL_FROM", "webir@example.gov.tw")
    monkeypatch.setenv("WEBIR_MAIL_PORT", "587")
    monkeypatch.setenv("WEBIR_MAIL_PASSWORD", "123456")
    monkeypatch.setenv("WEBIR_MAIL_USE_TLS", "true")
    monkeypatch.setenv("WEBIR_DUTY_SCHEDULES", '{"usage_check": null, "account_review": {"month": 2, "day": 1}}')
    app = make_app()
    assert (SETTINGS.reminder_working_days, SETTINGS.escalation_working_days, SETTINGS.idle_days) == (4, 7, 90)
    assert (SETTINGS.base_url, SETTINGS.mail_from) == ("https://webir.example", "webir@example.gov.tw")
    assert timer_data() == {"reminder_days": 4, "escalation_days": 7}
    assert (app.config["MAIL_PORT"], app.config["MAIL_USE_TLS"]) == (587, True)
    assert app.config["MAIL_PASSWORD"] == "123456"  # text, though it parses as JSON
    review = next(s for s in schedules(app) if s.name == "account_review")
    assert "usage_check" not in [s.name for s in schedules(app)] and (review.month, review.day) == (2, 1)


def test_the_violation_report_deadline_reaches_the_core_per_agency_too(make_app, monkeypatch):
    monkeypatch.setenv("WEBIR_VIOLATION_REPORT_DAYS", "7")
    monkeypatch.setenv("WEBIR_VIOLATION_REPORT_DAYS_BY_AGENCY", '{"KHH-SW": 10}')
    make_app()
    assert (SETTINGS.violation_report_days, SETTINGS.violation_report_days_by_agency) == (7, {"KHH-SW": 10})


def test_one_duty_can_be_changed_with_its_own_variable(make_app, monkeypatch):
    monkeypatch.setenv("WEBIR_DUTY_SCHEDULES__usage_check", '{"day": 10, "hour": 14}')
    app = make_app()
    usage = next(s for s in schedules(app) if s.name == "usage_check")
    assert (usage.day, usage.hour) == (10, 14)
    assert make_app().config["DUTY_SCHEDULES"] is not app.config["DUTY_SCHEDULES"]  # no default shared or changed


def test_the_instance_file_is_read_and_the_environment_and_test_config_win(make_app, monkeypatch, tmp_path):
    (tmp_path / "config.py").write_text(
        'REMINDER_WORKING_DAYS = 2\nESCALATION_WORKING_DAYS = 4\nMAIL_SERVER = "smtp.file.example"\n'
        'DUTY_SCHEDULES = {"usage_check": None}\n', encoding="utf-8")
    monkeypatch.setenv("WEBIR_ESCALATION_WORKING_DAYS", "6")
    app = make_app({"MAIL_SERVER": "smtp.test.example"})
    assert (SETTINGS.reminder_working_days, SETTINGS.escalation_working_days) == (2, 6)
    assert app.config["MAIL_SERVER"] == "smtp.test.example"
    assert "usage_check" not in [s.name for s in schedules(app)]


def test_the_scheduler_command_loads_the_same_settings(monkeypatch, database_url):
    # `flask --app web scheduler` and the web app both start from create_app().
    monkeypatch.setenv("WEBIR_SQLALCHEMY_DATABASE_URI", database_url)
    monkeypatch.setenv("WEBIR_REMINDER_WORKING_DAYS", "8")
    monkeypatch.setenv("WEBIR_BASE_URL", "https://scheduler.example")
    monkeypatch.setenv("WEBIR_SCHEDULER_ENABLED", "false")  # not TESTING: no background jobs here
    monkeypatch.setenv("WEBIR_SECRET_KEY", "a-key-only-this-test-knows")  # not TESTING: real keys are required
    monkeypatch.setenv("DATA_ENCRYPTION_KEY", sealing.new_key())
    app = ScriptInfo(app_import_path="web").load_app()
    try:
        assert app.config["SQLALCHEMY_DATABASE_URI"] == database_url
        assert (SETTINGS.reminder_working_days, SETTINGS.base_url) == (8, "https://scheduler.example")
        assert "scheduler" in app.cli.list_commands(None)
    finally:
        with app.app_context():
            db.engine.dispose()


def test_the_common_and_the_old_unprefixed_names_are_still_read(make_app, monkeypatch, caplog, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}")
    monkeypatch.setenv("SECRET_KEY", "12345")
    monkeypatch.setenv("MAIL_SERVER", "smtp.old.example")
    monkeypatch.setenv("MAIL_PORT", "2525")
    monkeypatch.setenv("MAIL_USE_TLS", "1")
    monkeypatch.setenv("PORT", "8080")
    monkeypatch.setenv("SCHEDULER_ENABLED", "1")
    monkeypatch.setenv("WEBIR_SCHEDULER_ENABLED", "0")  # the prefixed name wins
    with caplog.at_level(logging.WARNING, logger="web.config"):
        app = make_app({"SQLALCHEMY_DATABASE_URI": os.environ["DATABASE_URL"]})
        plain = create_app({"TESTING": True}, instance_path=str(tmp_path))
    assert plain.config["SQLALCHEMY_DATABASE_URI"] == os.environ["DATABASE_URL"]
    with plain.app_context():
        db.engine.dispose()
    assert app.config["SECRET_KEY"] == "12345"  # the twelve-factor names: text, and no warning
    assert (app.config["MAIL_SERVER"], app.config["MAIL_PORT"], app.config["MAIL_USE_TLS"]) == (
        "smtp.old.example", 2525, True)
    assert app.config["SCHEDULER_ENABLED"] is False
    assert SETTINGS.base_url == "http://127.0.0.1:8080"  # BASE_URL's default follows PORT
    warned = {r.getMessage() for r in caplog.records if r.name == "web.config"}
    assert warned == {f"{name} is read for now; set WEBIR_{name} instead"
                      for name in ("MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS")}


@pytest.mark.parametrize(("name", "value", "message"), [
    ("WEBIR_DUTY_SCHEDULES", '{"usage_chek": null}',
     "DUTY_SCHEDULES: unknown duty 'usage_chek'; the duties are account_review, usage_check, "),
    ("WEBIR_DUTY_SCHEDULES", '{"password_reminder": {}}',  # Taoyuan's duty (004 §7): not in Kaohsiung's pack
     "DUTY_SCHEDULES: unknown duty 'password_reminder'; the duties are account_review, usage_check, "),
    ("WEBIR_DUTY_SCHEDULES", '{"usage_check": {"day": 31}}',
     "DUTY_SCHEDULES: usage_check: day must be a whole number from 1 to 30, got 31"),
    ("WEBIR_DUTY_SCHEDULES", "{usage_check: null}",  # not JSON: arrives as text
     "DUTY_SCHEDULES: expected a mapping of duty name to null"),
    ("WEBIR_DUTY_SCHEDULES__account_review", '{"weekday": 1}',
     "DUTY_SCHEDULES: account_review: cannot change 'weekday'"),
    ("WEBIR_SCHEDULER_ENABLED", "yes", r"SCHEDULER_ENABLED must be true or false \(or 1 or 0\), got 'yes'"),
    ("SCHEDULER_ENABLED", "on", r"SCHEDULER_ENABLED must be true or false \(or 1 or 0\), got 'on'"),
    ("WEBIR_REMINDER_WORKING_DAYS", "three", "REMINDER_WORKING_DAYS must be a whole number from 1 to 365, got 'three'"),
    ("WEBIR_MAIL_PORT", "0", "MAIL_PORT must be a whole number from 1 to 65535, got 0"),
    ("WEBIR_VIOLATION_REPORT_DAYS", "0", "VIOLATION_REPORT_DAYS must be a whole number from 1 to 365, got 0"),
    ("WEBIR_VIOLATION_REPORT_DAYS_BY_AGENCY", '{"KHH-SW": "ten"}',
     "VIOLATION_REPORT_DAYS_BY_AGENCY must map agency codes to whole numbers of days"),
    ("WEBIR_SQLITE_SYNCHRONOUS", "OFF", "SQLITE_SYNCHRONOUS must be one of NORMAL, FULL, got 'OFF'"),
    ("WEBIR_RETENTION_YEARS", '{"application": 3}', "RETENTION_YEARS: unknown record type 'application'"),
    ("WEBIR_RETENTION_YEARS", '{"query_logs": 0}',
     "RETENTION_YEARS: query_logs must be a whole number of years from 1 to 100, got 0"),
])
def test_a_setting_that_cannot_work_stops_the_start_naming_it(make_app, monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"^{message}"):
        make_app()


def test_a_bad_duty_schedule_in_the_instance_file_is_refused_too(make_app, tmp_path):
    (tmp_path / "config.py").write_text('DUTY_SCHEDULES = {"account_review": {"month": 13}}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="^DUTY_SCHEDULES: account_review: month must be a whole number from 1 to 12"):
        make_app()


def test_retention_years_may_name_only_some_record_types(make_app, monkeypatch):
    monkeypatch.setenv("WEBIR_RETENTION_YEARS", '{"applications": 3}')  # Taipei, 002 §7
    make_app()
    assert SETTINGS.retention_years == {"applications": 3, "query_logs": 5, "deletion_proofs": 5}

