"""ID numbers at rest: sealed in the database, plain through the models, found by their keyed hash."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models import ID_FIELDS, Application, Person, sealing
from tests.at_rest import database_text
from tests.conftest import NOW, QUERIER_ADD, REGISTRATION, SUBJECT, granted, make_person
from tests.conftest import registration as registration_data
from web import datakey
from workflows.filing import reads
from workflows.filing.applications import amend_application, submit_application
from workflows.filing.tasks import complete_task
from workflows.forms import FORMS, STEP_FORMS

STAFF_ID = "F234567898"


@pytest.fixture
def other_key(app):
    """Run the test with another data key; the app's own key is back afterwards."""
    sealing.configure(sealing.new_key())
    yield
    datakey.init_app(app)


def decide(session, person, username, app, decision="approve", opinion="", **data):
    [row] = [r for r in reads.list_inbox(session, person(username)) if r.application_id == app.id]
    return complete_task(session, task_id=row.task_id, actor=person(username), decision=decision, opinion=opinion,
                         data=data, now=NOW)


def test_a_persons_id_number_is_sealed_in_its_column_and_plain_through_the_model(session, engine):
    make_person(session, "sw_new", national_id=STAFF_ID)
    session.commit()
    with engine.connect() as conn:
        stored, id_hash = conn.execute(text(
            "SELECT national_id_sealed, national_id_hash FROM person WHERE username = 'sw_new'")).one()
    assert STAFF_ID not in stored and stored.startswith(sealing.PREFIX)
    assert id_hash == sealing.digest(STAFF_ID) and STAFF_ID not in id_hash
    with Session(engine) as fresh:
        assert fresh.scalar(select(Person.national_id).where(Person.username == "sw_new")) == STAFF_ID


def test_the_same_number_sealed_twice_reads_differently_but_hashes_alike():
    assert sealing.seal(STAFF_ID) != sealing.seal(STAFF_ID)
    assert sealing.digest(STAFF_ID) == sealing.digest(f" {STAFF_ID.lower()} ")


def test_a_person_is_found_by_the_keyed_hash_of_the_number(session, engine):
    make_person(session, "sw_new", national_id=STAFF_ID)
    session.commit()
    with Session(engine) as fresh:
        found = fresh.scalars(select(Person.username).where(
            Person.national_id_hash == sealing.digest(STAFF_ID.lower()))).all()
    assert found == ["sw_new"]


def test_a_sealed_column_refuses_a_plain_comparison_rather_than_matching_nothing():
    with pytest.raises(TypeError, match="keyed hash"):
        select(Person).where(Person.national_id == STAFF_ID)


def test_id_fields_in_application_data_are_sealed_and_the_rest_stays_readable(session, person, engine):
    querier = submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=person("sw_staff"),
                                 now=NOW)
    registration = submit_application(session, form_key="query_registration", data=REGISTRATION,
                                      actor=person("applicant"), now=NOW)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, CAST(data AS TEXT), workflow_state FROM application")).all()
    raw = {row[0]: row[1] for row in rows}
    assert QUERIER_ADD["national_id"] not in raw[querier.id] and sealing.PREFIX in raw[querier.id]
    assert SUBJECT not in raw[registration.id]
    assert QUERIER_ADD["egov_account"] in raw[querier.id]  # only the ID fields are sealed
    assert not any(n in row[2] for row in rows for n in (QUERIER_ADD["national_id"],
                                                        SUBJECT))
    with Session(engine) as fresh:
        assert fresh.get(Application, querier.id).data["national_id"] == QUERIER_ADD["national_id"]
        assert fresh.get(Application, registration.id).data == registration_data(use_until=None,
                                                                                 legal_basis_reason=None)
        found = fresh.scalars(select(Application.id).where(
            Application.national_id_hash == sealing.digest(SUBJECT))).all()
    assert found == [registration.id]


def test_no_id_number_is_stored_in_plain_text_anywhere_after_a_whole_chain(session, person, engine):
    app = submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=person("sw_staff"),
                             now=NOW)
    decide(session, person, "sw_unit_head", app)
    decide(session, person, "manager", app, **granted(QUERIER_ADD["items"], "2026-11-26"))
    decide(session, person, "sw_it_head", app)
    submit_application(session, form_key="query_registration", data=REGISTRATION, actor=person("applicant"),
                       now=NOW)
    session.commit()
    numbers = {QUERIER_ADD["national_id"], SUBJECT,
               *session.scalars(select(Person.national_id).where(Person.national_id.is_not(None)))}
    assert len(numbers) > 20  # the demo people's numbers too
    stored = database_text(engine)
    assert [n for n in numbers if n in stored] == []


def test_amending_the_number_reseals_it_and_moves_the_hash(session, person, engine):
    app = submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=person("sw_staff"),
                             now=NOW)
    decide(session, person, "sw_unit_head", app, decision="return", opinion="身分證字號有誤")
    amend_application(session, application_id=app.id, data={**QUERIER_ADD, "national_id": STAFF_ID},
                      actor=person("sw_staff"), now=NOW)
    with Session(engine) as fresh:
        assert fresh.get(Application, app.id).data["national_id"] == STAFF_ID
        assert fresh.scalars(select(Application.id).where(
            Application.national_id_hash == sealing.digest(STAFF_ID))).all() == [app.id]
    assert STAFF_ID not in database_text(engine)


def test_a_wrong_key_fails_loudly_instead_of_returning_garbage(session, engine, other_key):
    with pytest.raises(sealing.SealError, match="sealed with data key"):
        session.scalars(select(Person.national_id).where(Person.username == "applicant")).one()


def test_an_altered_sealed_value_fails_loudly(session, engine):
    make_person(session, "sw_new", national_id=STAFF_ID)
    session.commit()
    with engine.begin() as conn:
        stored = conn.execute(text("SELECT national_id_sealed FROM person WHERE username = 'sw_new'")).scalar()
        flipped = stored[:-3] + ("A" if stored[-3] != "A" else "B") + stored[-2:]
        conn.execute(text("UPDATE person SET national_id_sealed = :v WHERE username = 'sw_new'"), {"v": flipped})
    with Session(engine) as fresh, pytest.raises(sealing.SealError, match="altered"):
        fresh.scalars(select(Person.national_id).where(Person.username == "sw_new")).one()


def test_a_plain_number_left_in_a_sealed_column_fails_loudly(session, engine):
    make_person(session, "sw_new", national_id=STAFF_ID)
    session.commit()
    with engine.begin() as conn:
        conn.execute(text("UPDATE person SET national_id_sealed = :v WHERE username = 'sw_new'"), {"v": STAFF_ID})
    with Session(engine) as fresh, pytest.raises(sealing.SealError, match="db upgrade"):
        fresh.scalars(select(Person.national_id).where(Person.username == "sw_new")).one()


def test_a_key_that_is_not_32_bytes_is_refused():
    with pytest.raises(sealing.SealError, match="32 random bytes"):
        sealing.configure("c2hvcnQ=")


def test_the_sealed_fields_are_exactly_the_forms_id_number_fields():
    specs = [*FORMS.values(), *STEP_FORMS.values()]
    assert {f.name for s in specs for f in s.fields if f.type == "national_id"} == set(ID_FIELDS)
    # Application.national_id_hash holds one number: no form may carry two, but 社會局's 查調資料申請表 (003 附表3),
    # whose further subjects are sealed as well and found by the first subject's number only.
    further = {"subject_2_national_id", "subject_3_national_id"}
    assert all(sum(f.type == "national_id" and f.name not in further for f in s.fields) <= 1 for s in specs)
    assert [s.key for s in specs if {f.name for f in s.fields} & further] == ["query_request"]
