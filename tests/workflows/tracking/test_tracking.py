"""Tracking reads against a seeded city: who sees what, search filters, and the bottleneck figures.

Every application is filed and decided through the service layer at a chosen moment, so each wait,
due date and overdue figure below is worked out by hand from the calendar, not from the code under test.
T is Wednesday 2026-11-25 10:00 in Taipei (02:00 UTC). Taiwan holidays that matter here: Mon 2026-10-26
(Restoration Day, observed for Sunday 10-25). Unit-head and agency-manager steps are due in 3 working days,
the applicant's amend step in 10.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import Agency, Application, Delegation, HumanTask, Person, TaskState
from tests.conftest import ITEMS_CHANGE, NOW, QUERIER_ADD, REGISTRATION, SUBJECT, registration
from workflows.calendar import TAIPEI
from workflows.filing.applications import submit_application, withdraw_application
from workflows.filing.tasks import complete_task
from workflows.runtime.visibility import visible_to
from workflows.tracking.dashboard import ageing_bucket, dashboard, percentile
from workflows.tracking.search import Filters, parse_waiting, search_applications

T = NOW


def days_ago(days: float) -> datetime:
    return T - timedelta(days=days)


def taipei(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A Taipei wall-clock time, as the aware UTC datetime the database stores."""
    return datetime(year, month, day, hour, minute, tzinfo=TAIPEI).astimezone(UTC)


@dataclass
class World:
    """Application ids, named as the figures below use them."""

    a: list[int]  # querier_account waiting at unit_head_review for 1, 3, 7, 12, 33 days
    b: list[int]  # querier_account waiting at agency_manager_setup for 0.5, 5, 20, 40 days
    c: int  # query_registration filed by `applicant`, at unit_head_review for 2.5 days
    e: int  # querier_account returned to sw_staff: the amend step has waited 4 days
    g: int  # query_items_change filed by `manager` (秘書室資訊小組), at unit_head_review for 8 days
    f: int  # query_registration filed by ep_querier (環保局), at unit_head_review for 100 days
    rejected: int
    withdrawn: int

    @property
    def by_sw_staff(self) -> set[int]:
        return {*self.a, *self.b, self.e, self.rejected, self.withdrawn}

    @property
    def relief_section(self) -> set[int]:
        """Filed inside 社會局 社會救助科: sw_staff's and `applicant`'s."""
        return self.by_sw_staff | {self.c}

    @property
    def social_welfare(self) -> set[int]:
        """Filed inside 社會局."""
        return self.relief_section | {self.g}

    @property
    def city(self) -> set[int]:
        return self.social_welfare | {self.f}


def file_at(session: Session, username: str, form_key: str, data: dict, at: datetime) -> int:
    return submit_application(session, form_key=form_key, data=dict(data), actor=find(session, username), now=at).id


def decide_at(session: Session, username: str, app_id: int, step: str, decision: str, at: datetime,
              opinion: str = "") -> None:
    task_id = session.scalar(select(HumanTask.id).where(
        HumanTask.application_id == app_id, HumanTask.step == step, HumanTask.state == TaskState.OPEN))
    assert task_id is not None, f"application {app_id} has no open {step}"
    complete_task(session, task_id=task_id, actor=find(session, username), decision=decision, opinion=opinion, now=at)


def find(session: Session, username: str) -> Person:
    return session.scalar(select(Person).where(Person.username == username))


@pytest.fixture
def file(session):
    def _file(username: str, form_key: str, data: dict, at: datetime) -> int:
        return file_at(session, username, form_key, data, at)
    return _file


def make_world(session: Session) -> World:
    def file(*args) -> int:
        return file_at(session, *args)

    def decide(*args) -> None:
        decide_at(session, *args)

    a = [file("sw_staff", "querier_account", QUERIER_ADD, days_ago(d)) for d in (1, 3, 7, 12, 33)]
    b = []
    for d in (0.5, 5, 20, 40):
        app_id = file("sw_staff", "querier_account", QUERIER_ADD, days_ago(60))
        decide("sw_unit_head", app_id, "unit_head_review", "approve", days_ago(d))
        b.append(app_id)
    c = file("applicant", "query_registration", REGISTRATION, days_ago(2.5))
    e = file("sw_staff", "querier_account", QUERIER_ADD, days_ago(6))
    decide("sw_unit_head", e, "unit_head_review", "return", days_ago(4), "請補附事由")
    g = file("manager", "query_items_change", ITEMS_CHANGE, days_ago(8))
    f = file("ep_querier", "query_registration", registration(
        case_number="115-環-0001", legal_basis="空氣污染防制法第三十二條及第六十七條"), days_ago(100))
    rejected = file("sw_staff", "querier_account", QUERIER_ADD, days_ago(50))
    decide("sw_unit_head", rejected, "unit_head_review", "reject", days_ago(49), "無查詢需要")
    withdrawn = file("sw_staff", "querier_account", QUERIER_ADD, days_ago(45))
    withdraw_application(session, application_id=withdrawn, actor=find(session, "sw_staff"), now=days_ago(44))
    return World(a, b, c, e, g, f, rejected, withdrawn)


@pytest.fixture(scope="module")
def seeded_world(demo_database, engine) -> World:
    """The world filed once for this module, on a fresh demo city, and saved."""
    demo_database.restore()
    with Session(engine, expire_on_commit=False) as session:
        world = make_world(session)
    demo_database.save("tracking_world")
    return world


@pytest.fixture
def world(seeded_world, demo_database) -> World:
    """A copy of the seeded world for each test."""
    demo_database.restore("tracking_world")
    return seeded_world


def open_task(session, app_id: int) -> HumanTask:
    return session.scalars(select(HumanTask).where(HumanTask.application_id == app_id,
                                                   HumanTask.state == TaskState.OPEN)).one()


def ids(page) -> list[int]:
    return [a.id for a in page.items]


# --- due dates: working days on the Taipei calendar ---------------------------------------------------------------

def test_the_seeded_moments_are_the_weekdays_the_figures_assume(world, session):
    assert T.astimezone(TAIPEI) == datetime(2026, 11, 25, 10, 0, tzinfo=TAIPEI)
    assert T.astimezone(TAIPEI).strftime("%A") == "Wednesday"
    assert open_task(session, world.a[3]).created_at == taipei(2026, 11, 13)  # 12 days before: a Friday
    assert open_task(session, world.a[4]).created_at == taipei(2026, 10, 23)  # 33 days before: a Friday
    assert open_task(session, world.b[3]).created_at == taipei(2026, 10, 16)  # 40 days before: a Friday
    assert {d.strftime("%A") for d in (date(2026, 11, 13), date(2026, 10, 23), date(2026, 10, 16))} == {"Friday"}


def test_a_step_opened_on_a_friday_is_due_three_working_days_later(world, session):
    # Fri 11-13 10:00 → Mon 16, Tue 17, Wed 18: due Wed 11-18 10:00 Taipei (the weekend does not count).
    assert open_task(session, world.a[3]).due_at == taipei(2026, 11, 18)
    assert open_task(session, world.a[3]).due_at == datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
    # Fri 10-16 → Mon 19, Tue 20, Wed 21.
    assert open_task(session, world.b[3]).due_at == taipei(2026, 10, 21)


def test_a_taiwan_holiday_is_skipped_like_a_weekend(world, session):
    # Fri 10-23 → (Sat, Sun 10-25 holiday, Mon 10-26 observed holiday) Tue 27, Wed 28, Thu 29.
    # Counting weekends only would give Wed 10-28.
    assert open_task(session, world.a[4]).due_at == taipei(2026, 10, 29)


def test_the_amend_step_is_due_in_ten_working_days(world, session):
    # Returned Sat 11-21 10:00 → Mon 23 … Fri 27 (5), Mon 30, Tue 12-01, Wed 02, Thu 03, Fri 04 (10).
    task = open_task(session, world.e)
    assert (task.step, task.created_at) == ("amend", taipei(2026, 11, 21))
    assert task.due_at == taipei(2026, 12, 4)


def test_working_days_follow_the_taipei_calendar_not_utc(file, session):
    # Friday 16:30 UTC is already Saturday 00:30 in Taipei: count Mon, Tue, Wed from the Saturday.
    at = datetime(2026, 11, 13, 16, 30, tzinfo=UTC)
    app_id = file("sw_staff", "querier_account", QUERIER_ADD, at)
    assert open_task(session, app_id).due_at == taipei(2026, 11, 18, 0, 30)  # Tue 11-17 16:30 UTC
    assert open_task(session, app_id).due_at == datetime(2026, 11, 17, 16, 30, tzinfo=UTC)


def test_created_dates_in_filters_are_taipei_days(file, session, person):
    at = datetime(2026, 11, 13, 16, 30, tzinfo=UTC)  # Saturday 11-14 00:30 in Taipei
    app_id = file("sw_staff", "querier_account", QUERIER_ADD, at)
    staff = person("sw_staff")

    def found(**dates) -> list[int]:
        return ids(search_applications(session, staff, Filters(**dates), now=T))

    assert found(created_from=date(2026, 11, 14), created_to=date(2026, 11, 14)) == [app_id]
    assert found(created_to=date(2026, 11, 13)) == []
    assert found(created_from=date(2026, 11, 15)) == []


# --- the bottleneck figures ---------------------------------------------------------------------------------------

def test_per_step_counts_median_p95_and_oldest(world, session, person):
    board = dashboard(session, person("sw_head"), now=T)
    got = [(s.process, s.version, s.step, s.role, s.waiting, s.median_days, s.p95_days, s.oldest_days,
            s.oldest_application) for s in board.steps]
    assert got == [
        # waits 0.5, 5, 20, 40: median (5 + 20) / 2; p95 = ceil(0.95 × 4) = 4th smallest
        ("querier_account", 1, "agency_manager_setup", "agency_manager", 4, 12.5, 40.0, 40.0, world.b[3]),
        ("querier_account", 1, "amend", "applicant", 1, 4.0, 4.0, 4.0, world.e),
        # waits 1, 3, 7, 12, 33: median the 3rd; p95 = ceil(4.75) = 5th smallest
        ("querier_account", 1, "unit_head_review", "unit_head", 5, 7.0, 33.0, 33.0, world.a[4]),
        ("query_items_change", 1, "unit_head_review", "unit_head", 1, 8.0, 8.0, 8.0, world.g),
        ("query_registration", 1, "unit_head_review", "unit_head", 1, 2.5, 2.5, 2.5, world.c),
    ]
    assert [s.name for s in board.steps[:3]] == ["機關管理者設定帳號", "申請人補正或撤回", "單位主管核准"]


def test_ageing_buckets_include_their_lower_bound(world, session, person):
    # Open waits seen by 社會局: 1, 3, 7, 12, 33 | 0.5, 5, 20, 40 | 2.5 | 4 | 8 (closed ones do not count).
    assert dashboard(session, person("sw_head"), now=T).ageing == {"<3": 3, "3-7": 3, "7-30": 4, ">30": 2}
    # The city also sees 環保局's 100-day wait.
    assert dashboard(session, person("admin"), now=T).ageing == {"<3": 3, "3-7": 3, "7-30": 4, ">30": 3}
    # A day later: 0.5 → 1.5 and 1 → 2 stay under 3; 2.5 → 3.5 crosses into 3-7; 3 → 4, 5 → 6, 4 → 5 stay.
    assert dashboard(session, person("sw_head"), now=T + timedelta(days=1)).ageing == {
        "<3": 2, "3-7": 4, "7-30": 4, ">30": 2}


@pytest.mark.parametrize(("days", "bucket"), [
    (0, "<3"), (2.999, "<3"), (3, "3-7"), (6.999, "3-7"), (7, "7-30"), (29.999, "7-30"), (30, ">30"), (400, ">30")])
def test_ageing_bucket_edges(days, bucket):
    assert ageing_bucket(days) == bucket


def test_stuck_list_is_longest_wait_first_with_overdue_days(world, session, person):
    board = dashboard(session, person("sw_head"), now=T)
    w = world
    assert [(s.application_id, s.days, s.overdue_days) for s in board.stuck] == [
        (w.b[3], 40.0, 35.0),  # opened Fri 10-16, due Wed 10-21
        (w.a[4], 33.0, 27.0),  # opened Fri 10-23, due Thu 10-29 (Mon 10-26 is a holiday)
        (w.b[2], 20.0, 15.0),  # opened Thu 11-05, due Tue 11-10
        (w.a[3], 12.0, 7.0),  # opened Fri 11-13, due Wed 11-18
        (w.g, 8.0, 5.0),  # opened Tue 11-17, due Fri 11-20
        (w.a[2], 7.0, 2.0),  # opened Wed 11-18, due Mon 11-23
        (w.b[1], 5.0, None),  # opened Fri 11-20, due Wed 11-25 10:00: exactly now is not overdue
        (w.e, 4.0, None),  # amend: due Fri 12-04
        (w.a[1], 3.0, None),  # opened Sun 11-22, due Wed 11-25 10:00: exactly now
        (w.c, 2.5, None),
        (w.a[0], 1.0, None),
        (w.b[0], 0.5, None),
    ]
    first = board.stuck[0]
    assert (first.form_title, first.step_name, first.agency, first.since) == (
        "勞保 WebIR 資料查詢者帳號申請表", "機關管理者設定帳號", "高雄市政府社會局", taipei(2026, 10, 16))
    top = dashboard(session, person("sw_head"), now=T, stuck_limit=3).stuck
    assert [s.application_id for s in top] == [w.b[3], w.a[4], w.b[2]]
    # One minute later the two steps due exactly at T are overdue by a minute.
    later = dashboard(session, person("sw_head"), now=T + timedelta(minutes=1)).stuck
    overdue = {s.application_id: s.overdue_days for s in later}
    assert overdue[w.b[1]] == pytest.approx(1 / 1440) and overdue[w.a[1]] == pytest.approx(1 / 1440)
    # The city's list starts with 環保局's case: opened Mon 08-17, due Thu 08-20, 97 days late.
    assert [(s.application_id, s.days, s.overdue_days) for s in dashboard(session, person("admin"), now=T).stuck][0] \
        == (w.f, 100.0, 97.0)


def test_dashboard_filters_by_process_and_agency(world, session, person):
    querier = dashboard(session, person("sw_head"), now=T, process="querier_account")
    assert [(s.step, s.waiting) for s in querier.steps] == [
        ("agency_manager_setup", 4), ("amend", 1), ("unit_head_review", 5)]
    assert querier.ageing == {"<3": 2, "3-7": 3, "7-30": 3, ">30": 2}
    ep = session.scalar(select(Agency.id).where(Agency.code == "KHH-EP"))
    sw = session.scalar(select(Agency.id).where(Agency.code == "KHH-SW"))
    city = dashboard(session, person("labor_clerk"), now=T, agency_id=ep)
    assert [(s.process, s.step, s.waiting, s.oldest_application) for s in city.steps] == [
        ("query_registration", "unit_head_review", 1, world.f)]
    # A filter narrows what one may see; it never widens it.
    assert dashboard(session, person("sw_head"), now=T, agency_id=ep).steps == []
    assert sum(s.waiting for s in dashboard(session, person("ep_head"), now=T, agency_id=sw).steps) == 0


def test_percentile_is_nearest_rank():
    twenty = [float(n) for n in range(1, 21)]
    assert percentile(twenty, 95) == 19.0  # ceil(0.95 × 20) = 19th, not the maximum
    assert percentile([*twenty, 21.0], 95) == 20.0  # ceil(19.95) = 20th
    assert percentile([1.0, 2.0, 4.0, 10.0, 40.0], 95) == 40.0  # linear interpolation would give 34
    assert percentile([1.0, 2.0, 4.0, 10.0, 40.0], 50) == 4.0
    assert percentile([5.0], 95) == 5.0
    assert percentile([1.0, 2.0], 0) == 1.0


# --- visibility, enforced in the query ----------------------------------------------------------------------------

EXPECTED_VISIBLE = {
    "sw_staff": lambda w: w.by_sw_staff,  # their own
    "applicant": lambda w: {w.c},  # their own
    "sw_unit_head": lambda w: w.relief_section,  # their unit's, not 秘書室資訊小組's
    "sw_it_head": lambda w: {w.g},  # their unit's
    "manager": lambda w: w.social_welfare,  # agency manager: all of 社會局
    "sw_head": lambda w: w.social_welfare,  # agency head
    "sw_deputy": lambda w: w.social_welfare,  # sw_head's delegate, no role of their own
    "sw_auditor": lambda w: w.social_welfare,
    "labor_clerk": lambda w: w.city,  # authority staff: the whole city
    "it_clerk": lambda w: w.city,  # central staff: the whole city
    "admin": lambda w: w.city,
    "ep_querier": lambda w: {w.f},
    "ep_unit_head": lambda w: {w.f},
    "ep_head": lambda w: {w.f},
    "yb_querier": lambda w: set(),
    "hb_head": lambda w: set(),
}
OPEN = {"a": 5, "b": 4, "c": 1, "e": 1, "g": 1, "f": 1}


@pytest.mark.parametrize("username", sorted(EXPECTED_VISIBLE))
def test_each_role_sees_exactly_its_share(world, session, person, username):
    viewer = person(username)
    expected = EXPECTED_VISIBLE[username](world)
    in_query = set(session.scalars(select(Application.id).where(visible_to(session, viewer, T.date()))))
    assert in_query == expected
    page = search_applications(session, viewer, Filters(), now=T, per_page=100)
    assert set(ids(page)) == expected and page.total == len(expected)
    # The dashboard counts the open steps of exactly those applications.
    board = dashboard(session, viewer, now=T)
    open_ids = {app_id for app_id in expected if app_id not in (world.rejected, world.withdrawn)}
    assert sum(s.waiting for s in board.steps) == len(open_ids) == sum(board.ageing.values())
    assert {s.application_id for s in board.stuck} == open_ids


def test_a_stranger_sees_nothing_even_when_filtering_for_it(world, session, person):
    stranger = person("yb_querier")
    for f in (Filters(), Filters(form="querier_account"), Filters(applicant="sw_staff"), Filters(step="amend"),
              Filters(holder="manager"), Filters(waiting_days=0)):
        assert search_applications(session, stranger, f, now=T).total == 0
    assert dashboard(session, stranger, now=T, process="querier_account").steps == []
    assert dashboard(session, stranger, now=T).stuck == []


def test_an_expired_delegation_no_longer_shows_the_principals_agency(world, session, person):
    session.execute(update(Delegation).values(valid_until=T.date() - timedelta(days=1)))
    session.commit()
    deputy = person("sw_deputy")
    assert search_applications(session, deputy, Filters(), now=T).total == 0
    session.execute(update(Delegation).values(valid_from=T.date(), valid_until=None))
    session.commit()
    assert search_applications(session, deputy, Filters(), now=T).total == len(world.social_welfare)


# --- search filters, sort and pages ------------------------------------------------------------------------------

def test_search_filters_each_narrow_to_the_hand_picked_set(world, session, person):
    w = world
    head, admin = person("sw_head"), person("admin")
    ep = session.scalar(select(Agency.id).where(Agency.code == "KHH-EP"))

    def found(viewer=head, **filters) -> set[int]:
        page = search_applications(session, viewer, Filters(**filters), now=T, per_page=100)
        assert page.total == len(page.items)
        return set(ids(page))

    assert found(form="query_registration") == {w.c}
    assert found(admin, form="query_registration") == {w.c, w.f}
    assert found(form="querier_account") == w.by_sw_staff
    assert found(state="running") == {*w.a, *w.b, w.c, w.g}
    assert found(state="returned") == {w.e}
    assert found(state="rejected") == {w.rejected}
    assert found(state="withdrawn") == {w.withdrawn}
    assert found(admin, agency_id=ep) == {w.f}
    assert found(agency_id=ep) == set()
    assert found(applicant="applicant") == {w.c}  # a username
    assert found(applicant="林怡") == {w.c}  # part of a name
    assert found(applicant="吳佩珊") == w.by_sw_staff
    assert found(step="agency_manager_setup") == set(w.b)
    assert found(step="amend") == {w.e}
    assert found(step="unit_head_review") == {*w.a, w.c, w.g}  # only open steps: not b's finished ones
    assert found(holder="manager") == set(w.b)
    assert found(holder="sw_unit_head") == {*w.a, w.c}
    assert found(holder="sw_it_head") == {w.g}
    assert found(holder="sw_staff") == {w.e}
    assert found(form="querier_account", state="running", holder="sw_unit_head") == set(w.a)
    assert found(form="query_registration", holder="sw_unit_head") == {w.c}


def test_search_by_id_number_finds_the_forms_carrying_it_within_what_one_may_see(world, session, person):
    w = world

    def found(username: str, number: str) -> set[int]:
        return set(ids(search_applications(session, person(username), Filters(national_id=number), now=T,
                                           per_page=100)))

    subject = SUBJECT
    assert found("admin", subject) == {w.c, w.f}
    assert found("sw_head", f" {subject.lower()} ") == {w.c}  # 環保局's registration is not 社會局's to see
    assert found("sw_head", QUERIER_ADD["national_id"]) == w.by_sw_staff
    assert found("admin", "F234567898") == set()
    assert found("yb_querier", subject) == set()


def test_a_listed_application_shows_who_holds_it_since_when(world, session, person):
    item = search_applications(session, person("sw_head"), Filters(step="agency_manager_setup"), now=T).items[0]
    assert (item.id, item.form_key, item.applicant, item.agency, item.unit, item.state) == (
        world.b[3], "querier_account", "吳佩珊", "高雄市政府社會局", "社會救助科", "running")
    assert item.created_at == days_ago(60) and item.closed_at is None
    [task] = item.current
    assert (task.step, task.name, task.role_label, task.holders) == (
        "agency_manager_setup", "機關管理者設定帳號", "機關管理者", ["王美玲"])
    assert (task.since, task.due_at) == (taipei(2026, 10, 16), taipei(2026, 10, 21))
    [closed] = search_applications(session, person("sw_head"), Filters(state="rejected"), now=T).items
    assert closed.current == [] and closed.waiting_since is None and closed.closed_at == days_ago(49)


def test_sort_orders(world, session, person):
    w = world
    head = person("sw_head")

    def order(sort: str, **filters) -> list[int]:
        return ids(search_applications(session, head, Filters(**filters), now=T, sort=sort, per_page=100))

    everything = sorted(w.social_welfare)
    assert order("id") == everything
    assert order("-id") == everything[::-1]
    assert order("nonsense") == everything  # an unknown key sorts by id, ascending
    # Filed at the same moment, the four b's fall back to the newest id first.
    assert order("created") == [*w.b[::-1], w.rejected, w.withdrawn, w.a[4], w.a[3], w.g, w.a[2], w.e, w.a[1],
                                w.c, w.a[0]]


# Application.waiting_since is never written for a step opened by the same sync() that computes it:
# workflows/instances.py _open_task builds HumanTask without state, the column default (OPEN) only applies at
# INSERT, so sync() sees state None, finds no open task and stores waiting_since = None. Every filter and sort on
# the wait then misses. These tests pass once _open_task sets state=TaskState.OPEN; strict, so they flag the fix.


def test_waiting_since_is_when_the_oldest_open_step_opened(world, session, person):
    w = world
    rows = dict(session.execute(select(Application.id, Application.waiting_since)).all())
    assert rows[w.a[3]] == days_ago(12) and rows[w.b[3]] == days_ago(40) and rows[w.e] == days_ago(4)
    assert rows[w.rejected] is None and rows[w.withdrawn] is None
    [item] = search_applications(session, person("sw_head"), Filters(step="agency_manager_setup", waiting_days=30),
                                 now=T).items
    assert (item.id, item.waiting_since) == (w.b[3], days_ago(40))


def test_waiting_filter_in_days(world, session, person):
    w = world
    head, admin = person("sw_head"), person("admin")

    def found(viewer=head, **filters) -> set[int]:
        return set(ids(search_applications(session, viewer, Filters(**filters), now=T, per_page=100)))

    assert found(waiting_days=7) == {w.a[2], w.a[3], w.a[4], w.b[2], w.b[3], w.g}  # 7 days exactly is in
    assert found(waiting_days=7.5) == {w.a[3], w.a[4], w.b[2], w.b[3], w.g}
    assert found(waiting_days=30) == {w.a[4], w.b[3]}
    assert found(admin, waiting_days=30) == {w.a[4], w.b[3], w.f}
    assert found(waiting_days=0) == {*w.a, *w.b, w.c, w.e, w.g}  # closed ones wait for nobody
    assert found(form="querier_account", step="agency_manager_setup", waiting_days=10) == {w.b[2], w.b[3]}


def test_sort_by_wait(world, session, person):
    w = world

    def order(sort: str) -> list[int]:
        return ids(search_applications(session, person("sw_head"), Filters(state="running"), now=T, sort=sort))

    longest_first = [w.b[3], w.a[4], w.b[2], w.a[3], w.g, w.a[2], w.b[1], w.a[1], w.c, w.a[0], w.b[0]]
    assert order("waiting") == longest_first
    assert order("-waiting") == longest_first[::-1]


def test_closed_applications_sort_after_the_waiting_ones_both_ways(world, session, person):
    w = world

    def order(sort: str) -> list[int]:
        return ids(search_applications(session, person("sw_head"), Filters(), now=T, sort=sort, per_page=100))

    # Closed applications have no wait: whichever way the wait is sorted, they come last (newest id first).
    assert order("waiting")[:2] == [w.b[3], w.a[4]] and order("waiting")[-2:] == [w.withdrawn, w.rejected]
    assert order("-waiting")[:2] == [w.b[0], w.a[0]] and order("-waiting")[-2:] == [w.withdrawn, w.rejected]


def test_pages_split_the_same_ordered_result(world, session, person):
    head = person("sw_head")
    pages = [search_applications(session, head, Filters(), now=T, sort="id", page=n, per_page=5) for n in (1, 2, 3)]
    assert [(p.total, p.pages, len(p.items)) for p in pages] == [(14, 3, 5), (14, 3, 5), (14, 3, 4)]
    assert [i for p in pages for i in ids(p)] == sorted(world.social_welfare)
    beyond = search_applications(session, head, Filters(), now=T, page=4, per_page=5)
    assert (beyond.items, beyond.total, beyond.pages) == ([], 14, 3)
    nothing = search_applications(session, person("hb_head"), Filters(), now=T)
    assert (nothing.total, nothing.pages) == (0, 1)


# --- waiting durations as the API takes them ----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "days"), [
    ("P7D", 7), ("PT36H", 1.5), ("P1W", 7), ("P1DT12H", 1.5), ("PT30M", 1 / 48), ("p2d", 2), (" P3D ", 3),
    ("10", 10), ("2.5", 2.5), (None, None), ("", None)])
def test_parse_waiting(text, days):
    assert parse_waiting(text) == (pytest.approx(days) if days is not None else None)


@pytest.mark.parametrize("text", ["P", "PT", "7D", "P7", "seven days", "-3", "P-1D", "1e3", "P1.5D", "PT1S"])
def test_parse_waiting_refuses_other_text(text):
    with pytest.raises(ValueError):
        parse_waiting(text)
