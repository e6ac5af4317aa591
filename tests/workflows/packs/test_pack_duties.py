"""A pack's duty rhythms beyond Kaohsiung's: half-yearly, with a deadline day for the period's instances."""

from dataclasses import replace
from datetime import UTC, datetime

from models import Application
from workflows.timers import duties


def test_a_half_yearly_duty_runs_once_per_half_and_carries_its_deadline(session):
    usage = replace(duties.find_schedule("usage_check"), name="usage_half", every="half_year", day=1, due_day=10)
    assert usage.cron() == {"month": "1,7", "day": 1, "hour": 9, "minute": 0}
    july = datetime(2027, 7, 1, 1, 0, tzinfo=UTC)  # 09:00 in Taipei
    assert not usage.due_in_period(datetime(2027, 7, 1, 0, 59, tzinfo=UTC))
    run = duties.run_schedule(session, usage, july)
    assert run.result == "ok" and run.period == "2027-H2"
    started = [session.get(Application, i) for i in run.detail["applications"]]
    assert started and {a.data["due_on"] for a in started} == {"2027-07-10"}
    assert duties.run_schedule(session, usage, datetime(2027, 12, 31, 1, tzinfo=UTC)) is None  # the same half
    assert usage.period(datetime(2028, 1, 1, 1, tzinfo=UTC)) == "2028-H1"


def test_kaohsiung_duties_carry_no_deadline_day(session):
    review = duties.find_schedule("account_review")
    run = duties.run_schedule(session, review, datetime(2027, 1, 15, 1, 0, tzinfo=UTC))
    assert all("due_on" not in session.get(Application, i).data for i in run.detail["applications"])
