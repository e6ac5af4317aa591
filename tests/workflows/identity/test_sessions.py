"""The signed-in person read with what a page's header shows of them, in one statement (issue 17)."""

from __future__ import annotations

from datetime import timedelta

from models import Notification
from models.personal import Delivery, PersonSetting
from tests.conftest import NOW
from tests.statements import statements
from workflows.identity.sessions import PageHeader, affiliation, find_signed_in, find_signed_in_with_header
from workflows.notify import unread_count
from workflows.personal.settings import preferred_locale


def note(person, *, bell=Delivery.EVERY, read=False) -> Notification:
    return Notification(person_id=person.id, kind="reminder", subject="s", body="b", bell=bell,
                        read_at=NOW if read else None, created_at=NOW - timedelta(days=1))


def separately(session, person) -> PageHeader:
    """What the header read one by one before: the language setting, the bell's count, the two names."""
    agency, unit = affiliation(session, person)
    return PageHeader(locale=preferred_locale(session, person), unread=unread_count(session, person),
                      agency=agency, unit=unit)


def test_the_header_read_with_the_person_equals_each_read_on_its_own(session, person, engine):
    head, clerk = person("sw_unit_head"), person("sw_staff")
    clerk.unit_id = None  # no unit: the name line without one
    session.add_all([note(head), note(head), note(head, read=True), note(head, bell=Delivery.DIGEST),
                     note(head, bell=Delivery.OFF), note(clerk, read=True),
                     PersonSetting(person_id=head.id, bell=Delivery.EVERY, email=Delivery.EVERY, locale="en")])
    session.commit()
    for who in (head, clerk, person("applicant")):
        signed = (who.id, who.session_generation)
        session.expire_all()  # as a request's fresh session: nothing loaded yet
        with statements(engine) as seen:
            found = find_signed_in_with_header(session, *signed)
        assert len(seen) == 1
        assert found is not None and found[0] is who
        assert found[1] == separately(session, who)
    assert find_signed_in_with_header(session, head.id, head.session_generation)[1] == PageHeader(
        locale="en", unread=2, agency="高雄市政府社會局", unit="社會救助科")
    assert find_signed_in_with_header(session, clerk.id, clerk.session_generation)[1].unit is None


def test_the_header_read_refuses_as_the_plain_read_does(session, person):
    head = person("sw_unit_head")
    assert find_signed_in_with_header(session, head.id, head.session_generation + 1) is None
    assert find_signed_in_with_header(session, 10**9, 0) is None
    head.active = False
    session.commit()
    assert find_signed_in_with_header(session, head.id, head.session_generation) is None
    assert find_signed_in(session, head.id, head.session_generation) is None
