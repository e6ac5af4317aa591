"""What a page's request says to the database around its view (a regression guard for issue 17).

A GET reads the signed-in person with what the header shows of them (their language, the bell's count, their
agency's and unit's names) in one statement; a POST reads them where they are shown, after its change.
"""

from __future__ import annotations

from datetime import timedelta

from models import Notification
from models.personal import Delivery, PersonSetting
from tests.conftest import NOW
from tests.statements import statements
from web.extensions import db


def login(client, username: str):
    assert client.post("/login", data={"username": username, "password": "demo"}).status_code == 302
    return client


def notes(person, count: int) -> list[Notification]:
    return [Notification(person_id=person.id, kind="reminder", subject="s", body="b", bell=Delivery.EVERY,
                         created_at=NOW - timedelta(days=1)) for _ in range(count)]


def test_a_page_reads_the_person_with_the_header_in_one_statement(app, session, person):
    head = person("sw_unit_head")
    session.add_all([*notes(head, 3), PersonSetting(person_id=head.id, bell=Delivery.EVERY, email=Delivery.EVERY,
                                                    locale="en")])
    session.commit()
    client = login(app.test_client(), "sw_unit_head")  # no language cookie: the person's own choice
    with app.app_context():
        engine = db.engine
    with statements(engine) as seen:
        page = client.get("/").text
    assert '<html lang="en">' in page
    assert '<span class="count" id="unread-count">3</span>' in page
    assert "<span>陳志明 (高雄市政府社會局 社會救助科)</span>" in page
    first, *rest = seen
    assert first.lstrip().startswith("SELECT person.id")
    assert all(part in first for part in ("FROM person_setting", "FROM notification", "FROM agency", "FROM unit"))
    assert not [s for s in rest if any(t in s for t in ("FROM person_setting", "FROM notification", "FROM unit"))]
    # the person and header; the rows and the counts; the header links' holdings and delegations
    assert len(seen) <= 5, seen


def test_a_post_reads_the_bell_after_its_change(app, session, person):
    """A page rendered by a POST (here the password form refused) reads the bell where it shows it."""
    head = person("sw_unit_head")
    session.add_all(notes(head, 2))
    session.commit()
    client = login(app.test_client(), "sw_unit_head")
    with app.app_context():
        engine = db.engine
    with statements(engine) as seen:
        refused = client.post("/password", data={"current_password": "wrong", "new_password": "long enough 1",
                                                  "confirm": "long enough 1"})
    assert refused.status_code == 422
    assert '<span class="count" id="unread-count">2</span>' in refused.text
    assert not any("FROM notification" in s for s in seen[:1]) and sum("FROM notification" in s for s in seen) == 1
