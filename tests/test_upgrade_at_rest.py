"""A database written by the code before ID numbers were sealed and the audit trail chained: after
``flask db upgrade`` nothing is left in plain text, everything reads back, and the chains go on."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from datetime import timedelta
from uuid import uuid4

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from models import AccountKind, Application, ApplicationState, AuditEvent, LogFlag, Person, WebirAccount, sealing
from tests.at_rest import database_text
from tests.conftest import NOW, QUERIER_ADD, ROOT, SUBJECT, granted
from web import create_app
from web.extensions import db
from workflows.accounts.effects import active_account
from workflows.audit import verify_chain
from workflows.filing import reads
from workflows.filing.tasks import complete_task
from workflows.oversight.reconcile import Reconciler

BEFORE = "ad90986352a149fb5dd9300ba6836d77d5bea364"  # the last commit storing ID numbers in plain text

# Run by the code of BEFORE, in its own process: migrate, load the demo city, file two forms.
WRITE_THE_OLD_WAY = """
import sys
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import select

from models import Person
from tests.conftest import NOW, QUERIER_ADD, REGISTRATION
from web import create_app
from web.extensions import db
from workflows.demo import load_demo
from workflows.filing.applications import submit_application

app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "TESTING": True})
with app.app_context():
    upgrade()
    load_demo(db.session, now=NOW, bpmn_dir=Path("bpmn/kaohsiung"), include_history=False)
    db.session.commit()
    person = {p.username: p for p in db.session.scalars(select(Person))}
    submit_application(db.session, form_key="querier_account", data=QUERIER_ADD, actor=person["sw_staff"], now=NOW)
    submit_application(db.session, form_key="query_registration", data=REGISTRATION, actor=person["applicant"],
                       now=NOW)
    db.engine.dispose()
"""


@pytest.fixture(scope="module")
def old_code(tmp_path_factory):
    """The tree of BEFORE, from the repository's history."""
    archive = subprocess.run(["git", "archive", "--format=tar", BEFORE],  # noqa: S603, S607 - fixed arguments
                             cwd=ROOT, capture_output=True)
    if archive.returncode != 0:
        pytest.skip(f"needs the git history with {BEFORE[:7]}: {archive.stderr.decode().strip()}")
    tree = tmp_path_factory.mktemp("before")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tree, filter="data")
    return tree


@pytest.fixture
def scratch_url(database_url, tmp_path):
    """An empty database of the kind under test: a new SQLite file, or a new PostgreSQL database."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'before.sqlite3'}"
        return
    name = f"upgrade_{uuid4().hex[:12]}"
    server = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    server.dispose()


def decide(session, username, app_id, **data):
    actor = session.scalar(select(Person).where(Person.username == username))
    [row] = [r for r in reads.list_inbox(session, actor) if r.application_id == app_id]
    return complete_task(session, task_id=row.task_id, actor=actor, decision="approve", opinion="", data=data,
                         now=NOW + timedelta(hours=1))


def test_a_database_written_before_sealing_upgrades_reads_back_and_goes_on(old_code, scratch_url):
    written = subprocess.run([sys.executable, "-c", WRITE_THE_OLD_WAY, scratch_url],  # noqa: S603 - our script
                             cwd=old_code,
                             env={"PYTHONPATH": str(old_code), "PATH": "/usr/bin:/bin"}, capture_output=True)
    assert written.returncode == 0, written.stderr.decode()
    engine = create_engine(scratch_url)
    with engine.connect() as conn:
        plain = dict(conn.execute(text("SELECT username, national_id FROM person")).all())
        events_before = conn.execute(text("SELECT count(*) FROM audit_event")).scalar()
    assert QUERIER_ADD["national_id"] in database_text(engine)  # the old code did store it in plain text

    app = create_app({"SQLALCHEMY_DATABASE_URI": scratch_url, "TESTING": True})
    try:
        with app.app_context():
            upgrade()
        stored = database_text(engine)
        numbers = {QUERIER_ADD["national_id"], SUBJECT, *filter(None, plain.values())}
        assert [n for n in numbers if n in stored] == []

        with Session(engine, expire_on_commit=False) as session:
            people = {p.username: p.national_id for p in session.scalars(select(Person))}
            assert people == plain
            assert session.scalars(select(Person.username).where(
                Person.national_id_hash == sealing.digest(plain["sw_staff"]))).all() == ["sw_staff"]
            querier, registration = session.scalars(select(Application).order_by(Application.id)).all()
            assert querier.data["national_id"] == QUERIER_ADD["national_id"]
            assert registration.data["subject_national_id"] == SUBJECT
            assert session.scalars(select(Application.id).where(
                Application.national_id_hash == sealing.digest(SUBJECT))).all() == [
                registration.id]
            upgraded = verify_chain(session, actor=None)
            assert (upgraded.intact, upgraded.verified) == (True, events_before)

            # Candidate rows written before they carried the form key were given it by the upgrade.
            head = session.scalar(select(Person).where(Person.username == "sw_unit_head"))
            assert reads.inbox_counts(session, head) == {"querier_account": 1, "query_registration": 1}
            assert querier.serializer_version == "1.5"  # the old engine state, restored as it is

            # The registration's one subject and item became line 1 of its sheet: reconciliation still matches it.
            assert [(r.line, r.item, r.subject_hash, r.subject_id) for r in registration.registration_rows] == [
                (1, "C0101", sealing.digest(SUBJECT), SUBJECT)]
            decide(session, "sw_unit_head", registration.id)
            account = session.scalar(select(WebirAccount).where(WebirAccount.person_id == registration.applicant_id))
            verdict = Reconciler(session, registration.agency).judge(
                account.egov_account, NOW + timedelta(days=1), "C0101", sealing.digest(SUBJECT))
            assert (verdict.registration_id, verdict.registration_line) == (registration.id, 1)
            assert not verdict.flags & LogFlag.NO_REGISTRATION

            # The saved engine state lost the numbers, and the chain still runs to its end.
            decide(session, "sw_unit_head", querier.id)
            # The old code's diagram had no seal: the application finishes on its version at the manager's setting,
            # which now decides the requested items one by one (000 附表三's item sheet).
            done = decide(session, "manager", querier.id, **granted(QUERIER_ADD["items"], "2026-11-26"))
            assert done.state == ApplicationState.COMPLETED
            assert [h.step for h in done.history] == ["start", "unit_head_review", "agency_manager_setup"]
            staff = session.scalar(select(Person).where(Person.username == "sw_staff"))
            assert active_account(session, staff.id, AccountKind.QUERIER) is not None
            after = verify_chain(session, actor=None)
            assert after.intact
            assert after.verified == session.scalar(select(func.count()).select_from(AuditEvent)) > events_before

        if engine.dialect.name == "postgresql":
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text("DELETE FROM audit_event"))
    finally:
        with app.app_context():
            db.engine.dispose()
        engine.dispose()
