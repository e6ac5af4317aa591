"""Settings the core needs from the deployment; the web app or the scheduler process sets them once."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Settings:
    reminder_working_days: int = 3  # a step's holder is reminded after this many working days
    escalation_working_days: int = 5  # ... and the holder's superior or delegate told after this many
    idle_days: int = 180  # the yearly account review flags an account unused for longer (001 §6(6) 長期閒置)
    base_url: str = "http://127.0.0.1:5000"  # for links in e-mails
    mail_from: str = "webir-bpm@localhost"
    # 資通安全責任等級分級辦法 附表十: after 5 failed log-ins the account refuses log-ins for at least 15 minutes.
    login_max_failures: int = 5  # failures within the window that lock the account
    login_window_minutes: int = 15  # failures older than this are forgotten
    login_lockout_minutes: int = 15  # how long a locked account refuses every log-in
    # Queries outside office hours are a violation only where the rules say so (Taipei 002 §6(3)); Kaohsiung's
    # rules do not, so the flag is off by default. Office hours are on working days (workflows.calendar).
    office_hours_only: bool = False
    office_hours_start: str = "08:00"  # Taipei local time, HH:MM
    office_hours_end: str = "18:00"
    # The clause that forbids WebIR use to outsourced vendors' staff (Taipei 002 §5(5)); None: no such rule, a
    # person flagged as a contractor files like anyone else (Kaohsiung).
    contractor_rule: str | None = None
    # The clause by which only an agency the authority admitted is a requesting agency (Kaohsiung 001 §2(3)): a
    # requesting agency never admitted (``Agency.admitted_on`` None) may file no query registration, account or item
    # change. None: the city's rules set no such bar (a pack that names none: Taipei, Taoyuan), only a suspension
    # refuses. The code's default is Kaohsiung's, as the other defaults here are.
    admission_rule: str | None = "001 第二點第三款"
    # Account application forms kept for their retention after the account they asked for is cancelled, not after
    # their own closing (Taipei 002 §7(2)); off: every application counts from its closing (Kaohsiung 001 §5(3)).
    account_forms_from_cancellation: bool = False
    # A violation is corrected at once and its review report (檢討報告) reaches the authority within this many
    # calendar days of the case opening (003 §8: 十日 in 社會局; 000 §6(3) and 001 §12(4) say only 立即).
    violation_report_days: int = 10
    violation_report_days_by_agency: dict[str, int] = field(default_factory=dict)  # agency code → days
    # Months after which a manager or querier must change their password (Taoyuan 004 §7: 3); None: the city's
    # rules set none (Kaohsiung: 我的e政府's own rules, 001 §6(3)). Set by the jurisdiction pack.
    password_change_months: int | None = None
    # Retention in years, per record type (Kaohsiung: 001 §11 keeps deletion proofs five years, 001 §6(6) and
    # §12 the review and audit records five years; Taipei 002 §7 three). Past it a record is only *proposed* for
    # destruction: the agency head approves the list first (檔案法 §12). Applications count from their closing.
    retention_years: dict[str, int] = field(default_factory=lambda: {
        "applications": 5, "query_logs": 5, "deletion_proofs": 5})
    # The largest file an application or a step may carry (a scanned consent or authorisation letter).
    attachment_max_bytes: int = 10 * 1024 * 1024


SETTINGS = Settings()


def configure(**values) -> None:
    for name, value in values.items():
        if not hasattr(SETTINGS, name):
            raise AttributeError(f"unknown setting {name}")
        setattr(SETTINGS, name, value)


def timer_data() -> dict[str, int]:
    """Variables the diagrams' timer expressions read (``working_days(reminder_days)``)."""
    return {"reminder_days": SETTINGS.reminder_working_days, "escalation_days": SETTINGS.escalation_working_days}
