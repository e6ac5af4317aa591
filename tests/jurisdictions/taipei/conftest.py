"""The Taipei deployment (JURISDICTION=taipei) on its own database, its demo city built once per run.

Its tests run as the Kaohsiung ones do (a copy of the built demo put back before each test, tests/databases.py),
with the Taipei pack active while they run and Kaohsiung's again after them.
"""

from __future__ import annotations

import os

import pytest
import time_machine
from sqlalchemy import create_engine, make_url, select, text
from sqlalchemy.orm import Session

from models import Base, Person
from tests.conftest import DATA_KEY, NOW, ROOT, ApiClient
from tests.databases import demo_copies
from web import create_app, datakey
from web.config import core_settings
from web.extensions import db
from workflows import jurisdiction, settings
from workflows.demo import load_demo

TAIPEI = "taipei"


@pytest.fixture(scope="package", autouse=True)
def taipei_pack():
    """The Taipei pack active for this folder's tests; Kaohsiung's (the process default) again after them."""
    pack = jurisdiction.activate(TAIPEI)
    yield pack
    jurisdiction.activate(jurisdiction.DEFAULT)


@pytest.fixture(scope="session")
def taipei_database_url(tmp_path_factory) -> str:
    """A database of its own: a file beside the Kaohsiung one, or a second database in the PostgreSQL cluster."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('taipei') / 'taipei.sqlite3'}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS webir_taipei"))
        connection.execute(text("CREATE DATABASE webir_taipei"))
    admin.dispose()
    return make_url(url).set(database="webir_taipei").render_as_string(hide_password=False)


@pytest.fixture(scope="package")
def taipei_app(taipei_pack, taipei_database_url, tmp_path_factory):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": taipei_database_url, "WTF_CSRF_ENABLED": False,
                      "SECRET_KEY": "test-secret", "DATA_ENCRYPTION_KEY": DATA_KEY, "JURISDICTION": TAIPEI},
                     instance_path=str(tmp_path_factory.mktemp("taipei-instance")))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="package")
def taipei_demo(taipei_app, taipei_database_url):
    copies = demo_copies(taipei_database_url, Base.metadata)

    def load() -> None:
        Base.metadata.drop_all(db.engine)
        Base.metadata.create_all(db.engine)
        load_demo(db.session, now=NOW, bpmn_dir=ROOT / "bpmn" / TAIPEI, include_history=False)
        db.session.commit()
        db.session.remove()

    with taipei_app.app_context():
        copies.build(load)
    yield copies
    copies.close()


@pytest.fixture(autouse=True)
def fresh_db(taipei_app, taipei_demo, taipei_pack):
    """Every test starts from the Taipei demo city (this replaces the Kaohsiung one of tests/conftest.py)."""
    datakey.init_app(taipei_app)
    settings.configure(**core_settings(taipei_app.config))
    jurisdiction.activate(pack=taipei_pack)  # the pack's settings over the config's defaults
    taipei_demo.restore()


@pytest.fixture(autouse=True)
def on_the_demos_day():
    """The requests run on the demo's day (Wednesday 25 November 2026, 10:00 in Taipei): dates in the tests stay
    in the future or the past they were written for, and office hours hold, whatever day the suite runs."""
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def app(taipei_app):
    return taipei_app


@pytest.fixture
def api(taipei_app):
    return ApiClient(taipei_app)


@pytest.fixture
def client(taipei_app):
    return taipei_app.test_client()


@pytest.fixture
def session(taipei_app):
    """A plain session on the Taipei database, for calling the service layer directly and reading rows."""
    with taipei_app.app_context():
        engine = db.engine
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def person(session):
    def get(username: str) -> Person:
        return session.scalar(select(Person).where(Person.username == username))
    return get
