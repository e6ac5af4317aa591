"""Taoyuan's app on its own database, its demo city built once per run and put back before every test.

The fixtures ``app``, ``demo_database``, ``engine`` and ``fresh_db`` of tests/conftest.py are replaced here by
Taoyuan's, so ``client``, ``api``, ``session`` and ``person`` work as everywhere else, as Taoyuan's people. The pack
is the process's (workflows.jurisdiction): each test here makes Taoyuan's the active one and gives Kaohsiung's back
afterwards, so the tests of the rest of the suite never see Taoyuan's forms.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update

from models import Person
from tests.conftest import app_on, demo_built, load_city
from tests.databases import database_beside
from web import datakey
from web.config import core_settings
from web.extensions import db
from workflows import jurisdiction, settings

KEY = "taoyuan"


@pytest.fixture(scope="session")
def taoyuan_url(database_url, tmp_path_factory) -> str:
    """SQLite: a file of its own. PostgreSQL: a database of its own on the test cluster, created once."""
    return database_beside(database_url, KEY, tmp_path_factory.mktemp(KEY))


@pytest.fixture(scope="session")
def kaohsiung_pack():
    """The pack the rest of the suite runs on, as it was before Taoyuan's app was made."""
    return jurisdiction.active()


@pytest.fixture(scope="session")
def app(taoyuan_url, tmp_path_factory, kaohsiung_pack):
    with app_on(taoyuan_url, tmp_path_factory.mktemp("taoyuan-instance"), JURISDICTION=KEY) as app:
        app.config["TAOYUAN_PACK"] = jurisdiction.active()
        jurisdiction.activate(pack=kaohsiung_pack)
        yield app


@pytest.fixture(scope="session")
def engine(app):
    with app.app_context():
        return db.engine


@pytest.fixture(scope="session")
def demo_database(app, taoyuan_url, kaohsiung_pack):
    """Taoyuan's demo city with its diagrams deployed, built once per run (tests/databases.py)."""
    def load_taoyuan() -> None:
        jurisdiction.activate(pack=app.config["TAOYUAN_PACK"])
        try:
            load_city(KEY)
        finally:
            jurisdiction.activate(pack=kaohsiung_pack)

    with demo_built(app, taoyuan_url, load_taoyuan) as copies:
        yield copies


@pytest.fixture(autouse=True)
def fresh_db(app, demo_database, kaohsiung_pack):
    """Taoyuan's pack, settings and data key for this test, on a fresh copy of its demo city; Kaohsiung's after."""
    jurisdiction.activate(pack=app.config["TAOYUAN_PACK"])
    datakey.init_app(app)
    settings.configure(**core_settings(app.config))
    demo_database.restore()
    yield
    jurisdiction.activate(pack=kaohsiung_pack)


def passwords_changed(session, when) -> None:
    """Every demo person changed their password at ``when`` (the demo's are set on its day, 2026-11-25: by March
    they are past Taoyuan's three months, and every request would be sent to change them first)."""
    session.execute(update(Person).values(password_changed_at=when))
    session.commit()
