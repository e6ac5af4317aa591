"""A pack's duty rhythms beyond Kaohsiung's: half-yearly, with a deadline day for the period's instances."""

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import select

from models import Application, HumanTask
from workflows import jurisdiction
from workflows.calendar import TAIPEI
from workflows.editor.deploy import deploy
from workflows.timers import duties

from .test_pack_checks import copy_pack, read, write


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


def test_a_duty_step_is_due_by_the_packs_deadline_day(session, tmp_path):
    """due_day reaches the instance as due_on; a step's due_date expression makes it the step's deadline."""
    folder = copy_pack(tmp_path, "monthly")
    pack = read(folder, "pack.yaml")
    pack["key"] = "monthly"
    pack["forms"]["usage_check"]["fields"] = [{"name": "due_on", "label": "陳報期限", "type": "date"}]
    pack["duties"]["usage_check"].update(every="month", day=1, due_day=10)
    write(folder, "pack.yaml", pack)
    diagram = (folder / "usage_check.bpmn").read_text("utf-8").replace(
        '<spiffworkflow:property name="form" value="usage_check" /><spiffworkflow:property name="due_working_days" '
        'value="3" />',
        '<spiffworkflow:property name="form" value="usage_check" /><spiffworkflow:property name="due_date" '
        'value="at_date(due_on, 1)" />')
    (folder / "usage_check.bpmn").write_text(diagram, "utf-8")
    now = datetime(2027, 3, 1, 1, 0, tzinfo=UTC)
    with jurisdiction.activated("monthly", tmp_path):
        assert jurisdiction.check_pack("monthly", tmp_path) == []
        deploy(session, diagram.encode(), actor=None, now=now, jurisdiction="monthly", note="due by the 10th")
        run = duties.run_schedule(session, duties.find_schedule("usage_check"), now)
    step = session.scalars(select(HumanTask).where(HumanTask.application_id == run.detail["applications"][0])).one()
    assert step.due_at.astimezone(TAIPEI).isoformat() == "2027-03-11T00:00:00+08:00"  # by the end of the 10th
