"""Fixtures: a real database (SQLite file, or PostgreSQL via TEST_DATABASE_URL), the demo city, clients."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import lru_cache, partial
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from models import AccountItem, AccountKind, Agency, Base, Person, RoleHolding, WebirAccount, org, sealing
from tests.databases import PostgresCopies, SqliteCopies, demo_copies
from web import create_app, datakey
from web.config import core_settings
from web.extensions import db
from workflows import settings
from workflows.demo import load_demo
from workflows.engine import diagrams
from workflows.forms import ROW_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
DATA_KEY = sealing.new_key()  # this run's key for ID numbers: every app on the test database must use it


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@contextmanager
def app_on(url: str, instance: Path, **config) -> Iterator[Flask]:
    """An app under test on the database at ``url``, with an empty instance folder (a developer's
    instance/config.py stays out) and this run's data key; its connections closed afterwards."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False,
                      "SECRET_KEY": "test-secret", "DATA_ENCRYPTION_KEY": DATA_KEY, **config},
                     instance_path=str(instance))
    yield app
    with app.app_context():
        db.engine.dispose()


@contextmanager
def demo_built(app: Flask, url: str, load: Callable[[], None]) -> Iterator[SqliteCopies | PostgresCopies]:
    """The demo ``load`` builds on ``app``'s database at ``url``, built once and saved to be put back per test."""
    copies = demo_copies(url, Base.metadata)
    with app.app_context():
        copies.build(load)
    yield copies
    copies.close()


def load_city(key: str = "kaohsiung", **options) -> None:
    """A pack's demo city on empty tables, with its shipped diagrams deployed (no history)."""
    Base.metadata.drop_all(db.engine)
    Base.metadata.create_all(db.engine)
    load_demo(db.session, now=NOW, bpmn_dir=ROOT / "bpmn" / key, include_history=False, **options)
    db.session.commit()
    db.session.remove()


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    """The app under test, on Kaohsiung's pack (the process default)."""
    with app_on(database_url, tmp_path_factory.mktemp("instance")) as app:
        yield app


@pytest.fixture(scope="session")
def demo_database(app, database_url):
    """The demo city with the shipped diagrams deployed, built once per run (tests/databases.py)."""
    # 社會局's own chains (its agency layer) are switched on by the tests of that layer: the city's run as its people.
    with demo_built(app, database_url, partial(load_city, agency_chains=False)) as copies:
        yield copies


@pytest.fixture(scope="session", autouse=True)
def _each_password_checked_once():
    """Check each (hash, password) pair once per run: scrypt is slow by design and the demo hashes never change.

    The check is a pure function, so a wrong password still fails and a changed one is checked anew.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(org, "check_password_hash", lru_cache(maxsize=None)(check_password_hash))
        yield


@pytest.fixture
def real_password_checks(monkeypatch):
    """For a test about the hashing itself: every check hashes, as in production (no memo of this run's pairs)."""
    monkeypatch.setattr(org, "check_password_hash", check_password_hash)


@pytest.fixture(autouse=True)
def fresh_db(app, demo_database):
    """Every test starts from the demo city with the shipped diagrams deployed: a copy of the one built.

    No app context stays pushed during the test: requests must get their own, as in production
    (a shared one would share ``g`` and so the logged-in user between test clients).
    """
    datakey.init_app(app)  # the session's data key, whatever other apps a previous test built
    settings.configure(**core_settings(app.config))  # and its settings: create_app sets them process-wide
    demo_database.restore()


@pytest.fixture(scope="session")
def engine(app):
    with app.app_context():
        return db.engine


@pytest.fixture
def session(engine):
    """A plain session for calling the service layer directly, as a timer job would."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def person(session):
    def get(username: str) -> Person:
        return session.scalar(select(Person).where(Person.username == username))
    return get


@pytest.fixture
def lxml_spy(monkeypatch) -> LxmlSpy:
    """Watches what the diagram code hands to lxml and what lxml builds from it."""
    spy = LxmlSpy(diagrams.etree)
    monkeypatch.setattr(diagrams, "etree", spy)
    return spy


class LxmlSpy:
    """Stands in for lxml in workflows.engine.diagrams, passing every call through."""

    def __init__(self, real):
        self.real = real
        self.parsed: list[int] = []  # bytes handed to the parser, per call
        self.built: list[int] = []  # bytes of each tree it built, serialised again

    def __getattr__(self, name):
        return getattr(self.real, name)

    def fromstring(self, text, parser=None):
        self.parsed.append(len(text))
        root = self.real.fromstring(text, parser)
        self.built.append(len(self.real.tostring(root)))
        return root


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api(app):
    """An API client: api.as_('sw_unit_head').get('/api/v1/tasks')."""
    return ApiClient(app)


class ApiClient:
    def __init__(self, app):
        self.client = app.test_client()
        self.headers: dict[str, str] = {}

    def as_(self, username: str) -> ApiClient:
        response = self.client.post("/api/v1/login", json={"username": username, "password": "demo"})
        assert response.status_code == 200, response.get_json()
        other = ApiClient.__new__(ApiClient)
        other.client, other.headers = self.client, {"Authorization": f"Bearer {response.get_json()['token']}"}
        return other

    def get(self, url: str):
        return self.client.get(url, headers=self.headers)

    def post(self, url: str, json=None):
        return self.client.post(url, json=json if json is not None else {}, headers=self.headers)


QUERIER_ADD = {
    "request_type": "add", "name": "吳佩珊", "job_title": "科員", "national_id": "A123456789",
    "phone": "07-3368333#1234", "email": "peishan@demo.kcg.gov.tw", "egov_account": "peishan.wu",
    "has_egov_account": True, "has_citizen_certificate": True, "read_pdpa": True, "client_ip": "10.20.30.40",
    "items": ["C0101", "B0101"], "reason": "辦理低收入戶審核需查詢投保資料",
}


def granted(items, effective_date: str = "2026-12-01") -> dict:
    """The manager's setting of a city 附表三 granting every requested item (its item sheet's 審核結果: 同意)."""
    return {"effective_date": effective_date, **{f"item_{code}": "grant" for code in items}}


MANAGER_ADD = {
    "request_type": "add", "name": "吳佩珊", "agency_oid": "2.16.886.101.20002", "phone": "07-3368333",
    "email": "peishan@demo.kcg.gov.tw", "egov_account": "peishan.wu", "has_egov_account": True,
    "has_citizen_certificate": True, "succeeds": "manager", "reason": "接任機關管理者",
}
ITEMS_CHANGE = {
    "name": "王美玲", "phone": "07-3368333", "email": "manager@demo.kcg.gov.tw", "client_ip": "10.20.30.40",
    "add_items": ["C0201", "F0101"], "remove_items": ["T0101"], "legal_basis": "社會救助法第十八條",
}
# One line of the city's 查調資料登記表 (000 附表一), and the sheet carrying it: the forms people file most.
REGISTRATION_ROW = {"query_date": "2026-11-25", "subject_name": "陳小明", "subject_national_id": "E123456783",
                    "item": "C0101", "reason": "低收入戶資格審查"}
SUBJECT = REGISTRATION_ROW["subject_national_id"]
REGISTRATION = {
    "case_number": "115-社救-0001", "rows": [REGISTRATION_ROW],
    "legal_basis": "社會救助法第十八條、第二十條、第二十一條及第四十四條之三第一項",  # 社會局's table, 001 附表
}


def registration(*rows: dict, **changes) -> dict:
    """REGISTRATION changed: a change of a column (``item="B0201"``) goes to every row, one of the sheet's own
    (``case_number=…``) to the sheet; ``rows`` are the lines, each REGISTRATION_ROW changed by its mapping."""
    row_changes = {k: changes.pop(k) for k in list(changes) if k in ROW_COLUMNS}
    lines = [{**REGISTRATION_ROW, **r, **row_changes} for r in rows] or [{**REGISTRATION_ROW, **row_changes}]
    return {**REGISTRATION, **changes, "rows": lines}


def flat_registration(data: dict) -> dict:
    """A one-line sheet as a form of one subject takes it (社會局's own 附表2, another city's 附表)."""
    return {**{k: v for k, v in data.items() if k != "rows"}, **data["rows"][0]}


def page_registration(data: dict) -> dict:
    """A sheet as the filing page posts it: each row's columns as ``rows-<index>-<column>``."""
    out = {k: v for k, v in data.items() if k != "rows"}
    for i, row in enumerate(data.get("rows") or []):
        out.update({f"rows-{i}-{k}": v for k, v in row.items()})
    return out


def make_person(session: Session, username: str, *, agency: str = "KHH-SW", unit: str | None = None,
                name: str | None = None, national_id: str | None = None, active: bool = True,
                roles: tuple[str, ...] = ()) -> Person:
    """A staff member of a demo agency and unit (no password: tests act through the service layer)."""
    owner = session.scalar(select(Agency).where(Agency.code == agency))
    section = next((u for u in owner.units if u.name == unit), None) if unit else None
    person = Person(username=username, name=name or username, agency_id=owner.id, unit=section,
                    national_id=national_id, email=f"{username}@demo.kcg.gov.tw", password_hash="!", active=active)
    person.roles = [RoleHolding(role=r, agency_id=owner.id, unit=section) for r in roles]
    session.add(person)
    session.flush()
    return person


def make_account(session: Session, person: Person, *, kind: AccountKind = AccountKind.QUERIER,
                 items: tuple[str, ...] = (), effective_on: date | None = None) -> WebirAccount:
    """A WebIR account as if approved through its chain on ``effective_on``."""
    account = WebirAccount(person_id=person.id, agency_id=person.agency_id, kind=kind,
                           egov_account=f"{person.username}.egov", effective_on=effective_on or NOW.date(),
                           created_at=NOW,
                           items=[AccountItem(item_code=c) for c in sorted(items)])
    session.add(account)
    session.flush()
    return account


# A real SMTP server on a free loopback port, keeping every message it receives (the e-mail tests' sink).
class Sink:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_sink():
    with socket.socket() as probe:  # a free loopback port for the sink
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()
