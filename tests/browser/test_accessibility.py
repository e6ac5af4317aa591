"""Pages everyone can use (身心障礙者權益保障法 §52-2; MODA's rules follow WCAG 2.2 AA), checked by axe-core.

An approver, an applicant and an administrator each log in once and visit every page they can reach, at a
desk's 1366 px and a phone's 390 px; axe-core (from npm, copied to web/static/vendor by the build, never
loaded by a page) is evaluated into each page and must report no violation of the WCAG 2.0 / 2.1 / 2.2 A and
AA rules. On a phone every page must also fit the screen (no sideways scrolling): the inbox, the task page and
the forms above all; a page that truly cannot says so with ``fits_phone=False``.

A new page joins by adding one line to PAGES: its path (placeholders are filled from the seeded
applications), who visits it, and what shows it has finished drawing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from models import HumanTask, QueryLogImport, TaskState
from tests import files
from tests.conftest import REGISTRATION
from workflows.attachments.records import Upload, add_attachment
from workflows.filing.applications import submit_application
from workflows.filing.reveals import reveal_national_id
from workflows.filing.tasks import complete_task
from workflows.runtime.incidents import record_incident

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "web" / "static" / "vendor" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
DESK, PHONE = {"width": 1366, "height": 900}, {"width": 390, "height": 844}
DIAGRAM_READY = '#diagram[data-ready="true"]'

APPROVER, APPLICANT, ADMIN = "sw_unit_head", "applicant", "admin"
NAMES = {APPROVER: "陳志明", APPLICANT: "林怡君", ADMIN: "系統管理者"}


@dataclass(frozen=True)
class Visit:
    """One page to check: ``path`` may name {task}, {application} and {returned} (filled by ``seeded``)."""

    path: str
    who: tuple[str, ...]
    ready: str = "main"  # a selector present once the page has drawn itself (scripts included)
    fits_phone: bool = True  # at 390 px the document is no wider than the screen (wide tables scroll in a box)
    status: int = 200  # the error pages are visited on purpose


EVERYONE = (APPROVER, APPLICANT, ADMIN)
PAGES = [
    Visit("/", EVERYONE),
    Visit("/tasks/{task}", (APPROVER,)),
    Visit("/applications/new", EVERYONE),
    Visit("/applications/new/query_registration", (APPLICANT,)),
    Visit("/applications/new/querier_account", (APPLICANT,)),
    Visit("/applications/mine", (APPLICANT,)),
    Visit("/applications/{application}", EVERYONE, ready=DIAGRAM_READY),
    Visit("/applications/{returned}", (APPLICANT,), ready=DIAGRAM_READY),
    Visit("/applications/{returned}/amend", (APPLICANT,)),
    Visit("/applications/?sort=-id", EVERYONE),
    Visit("/dashboard", EVERYONE, ready=DIAGRAM_READY),
    Visit("/notifications/", EVERYONE),
    Visit("/admin/schedules", (ADMIN,)),
    Visit("/admin/incidents", (ADMIN,)),
    Visit("/admin/audit", (ADMIN,)),
    Visit("/audit/reveals", (ADMIN,)),
    Visit("/editor/", (ADMIN,)),
    Visit("/editor/query_registration/edit?version=1", (ADMIN,), ready='#editor[data-ready="true"]'),
    Visit("/editor/querier_account/diff?a=1&b=1", (ADMIN,), ready='#diff[data-ready="true"]'),
    Visit("/editor/querier_account/migrate", (ADMIN,)),
    Visit("/settings/", EVERYONE),
    Visit("/password", (APPLICANT,)),
    Visit("/accounts/?agency=KHH-SW", (ADMIN,)),
    Visit("/admin/chains", (ADMIN,)),
    Visit("/org/", (ADMIN,)),
    Visit("/org/agencies/KHH-SW", (ADMIN,)),
    Visit("/org/people/sw_staff", (ADMIN,)),
    Visit("/org/import", (ADMIN,)),
    Visit("/query-logs/", (ADMIN,)),
    Visit("/query-logs/import", (ADMIN,)),
    Visit("/query-logs/legal-bases", (ADMIN,)),
    Visit("/query-logs/imports/{log_import}", (ADMIN,)),
    Visit("/no-such-page", EVERYONE, status=404),
    Visit("/admin/schedules", (APPLICANT,), status=403),
]


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(15_000)
    return page


@pytest.fixture
def seeded(session, person) -> dict[str, int]:
    """A registration waiting at the unit head, and one returned to its applicant for correction.

    The unit head has revealed the waiting one's ID number (a row for 調閱紀錄), and it has an open incident.
    """
    def file() -> int:
        return submit_application(session, form_key="query_registration", data=dict(REGISTRATION),
                                  actor=person(APPLICANT), now=_now()).id

    waiting, returned = file(), file()
    task = _open_task(session, waiting)
    complete_task(session, task_id=_open_task(session, returned), actor=person(APPROVER), decision="return",
                  opinion="請補附法令依據", now=_now())
    reveal_national_id(session, application_id=waiting, field="rows[1].subject_national_id", reason="核對當事人身分",
                       actor=person(APPROVER), now=_now())
    record_incident(session, waiting, kind="timer", error=RuntimeError("計時器無法觸發"), now=_now())
    add_attachment(session, application_id=waiting, upload=Upload(files.png(), "同意書.png", label="當事人同意書"),
                   actor=person(APPROVER), now=_now())  # the attachment table, with its withdraw button
    admin = person(ADMIN)
    running = QueryLogImport(agency_id=admin.agency_id, actor_id=admin.id, file_name="webir-2026-11.csv", mapping={},
                             state="running", rows=12_000, progress_done=400_000, progress_total=1_000_000,
                             created_at=_now(), started_at=_now())  # a large import's page while its job runs
    session.add(running)
    session.commit()
    return {"task": task, "application": waiting, "returned": returned, "log_import": running.id}


def _now() -> datetime:
    return datetime.now(UTC)  # the live server reads the wall clock


def _open_task(session, application_id: int) -> int:
    return session.scalar(select(HumanTask.id).where(HumanTask.application_id == application_id,
                                                     HumanTask.state == TaskState.OPEN))


def log_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("帳號", exact=True).fill(username)
    page.get_by_label("密碼", exact=True).fill("demo")
    page.get_by_role("button", name="登入").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("header .me")).to_contain_text(NAMES[username])


def axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG A/AA violations on the page as shown, one line per rule and element."""
    assert page.evaluate("() => typeof window.axe") == "undefined", "a page must never load axe-core itself"
    page.evaluate(AXE.read_text(encoding="utf-8"))  # evaluated by the test, so the page's CSP does not apply
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_TAGS)
    return [f"{v['id']} ({v['impact']}): {', '.join(map(str, node['target']))} — {node['failureSummary']}"
            for v in result["violations"] for node in v["nodes"]]


def document_overflow(page: Page) -> int:
    """How many pixels the document is wider than the window (0 when nothing scrolls sideways)."""
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


def check_pages(page: Page, username: str, seeded: dict[str, int]) -> list[str]:
    failures = []
    for size_name, size in (("1366", DESK), ("390", PHONE)):
        page.set_viewport_size(size)
        for visit in (v for v in PAGES if username in v.who):
            path = visit.path.format(**seeded)
            response = page.goto(path)
            expect(page.locator(visit.ready).first).to_be_attached(timeout=15_000)  # diagrams draw after load
            where = f"{username} {path} @{size_name}px"
            if response.status != visit.status:
                failures.append(f"{where}: answered {response.status}, not {visit.status}")
            failures += [f"{where}: {line}" for line in axe_violations(page)]
            if size is PHONE and visit.fits_phone and (extra := document_overflow(page)) > 0:
                failures.append(f"{where}: the page is {extra} px wider than the screen")
    return failures


@pytest.mark.parametrize("username", [APPROVER, APPLICANT, ADMIN])
def test_every_page_passes_axe_at_desk_and_phone_width(page: Page, seeded, username):
    log_in(page, username)
    failures = check_pages(page, username, seeded)
    assert not failures, "\n".join(failures)


def test_the_login_page_passes_axe_at_desk_and_phone_width(page: Page):
    failures = []
    for size in (DESK, PHONE):
        page.set_viewport_size(size)
        page.goto("/login")
        failures += axe_violations(page)
        assert document_overflow(page) <= 0
    assert not failures, "\n".join(failures)


def test_axe_finds_what_it_is_asked_to_find(page: Page):
    """The check can fail: a field without a label, added to a real page, is reported."""
    page.goto("/login")
    page.evaluate("() => document.querySelector('main').insertAdjacentHTML('beforeend', '<input id=bare>')")
    assert any(line.startswith("label ") for line in axe_violations(page))


def focus_ring(page: Page) -> str:
    """The outline of whatever has the keyboard focus, as drawn ('' when there is none)."""
    return page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return s.outlineStyle === 'none' ? '' : `${s.outlineStyle} ${s.outlineWidth}`; }""")


def test_the_first_tab_shows_a_skip_link_that_moves_the_keyboard_into_the_content(page: Page, seeded):
    log_in(page, APPLICANT)
    page.set_viewport_size(PHONE)
    page.goto(f"/applications/{seeded['application']}")
    skip = page.locator("a.skip-link")
    assert skip.bounding_box()["y"] < 0  # out of sight until it has the focus
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    assert skip.bounding_box()["y"] >= 0 and focus_ring(page) == "solid 3px"
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")  # the next stop is inside the content, not back in the header
    assert page.evaluate("() => document.activeElement.closest('main') !== null")
    assert focus_ring(page) == "solid 3px"


def test_english_pages_pass_axe_and_say_their_language(page: Page, seeded):
    log_in(page, APPLICANT)
    page.goto("/lang/en")
    failures = []
    for path in ("/", "/applications/new/query_registration", f"/applications/{seeded['application']}"):
        page.goto(path)
        expect(page.locator("html")).to_have_attribute("lang", "en")
        failures += [f"{path}: {line}" for line in axe_violations(page)]
    assert not failures, "\n".join(failures)
