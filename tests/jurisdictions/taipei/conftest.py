"""The Taipei deployment (JURISDICTION=taipei) on its own database, its demo city built once per run.

Its tests run as the Kaohsiung ones do (a copy of the built demo put back before each test, tests/databases.py),
with the Taipei pack active while they run and Kaohsiung's again after them.
"""

from __future__ import annotations

from functools import partial

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Person
from tests.conftest import NOW, ApiClient, app_on, demo_built, load_city
from tests.databases import database_beside
from web import datakey
from web.config import core_settings
from web.extensions import db
from workflows import jurisdiction, settings

TAIPEI = "taipei"


@pytest.fixture(scope="package", autouse=True)
def taipei_pack():
    """The Taipei pack active for this folder's tests; Kaohsiung's (the process default) again after them."""
    pack = jurisdiction.activate(TAIPEI)
    yield pack
    jurisdiction.activate(jurisdiction.DEFAULT)


@pytest.fixture(scope="session")
def taipei_database_url(database_url, tmp_path_factory) -> str:
    """A database of its own: a file beside the Kaohsiung one, or a second database in the PostgreSQL cluster."""
    return database_beside(database_url, TAIPEI, tmp_path_factory.mktemp(TAIPEI))


@pytest.fixture(scope="package")
def taipei_app(taipei_pack, taipei_database_url, tmp_path_factory):
    with app_on(taipei_database_url, tmp_path_factory.mktemp("taipei-instance"), JURISDICTION=TAIPEI) as app:
        yield app


@pytest.fixture(scope="package")
def taipei_demo(taipei_app, taipei_database_url):
    with demo_built(taipei_app, taipei_database_url, partial(load_city, TAIPEI)) as copies:
        yield copies


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
