"""Taoyuan's app on its own database, its demo city built once per run and put back before every test.

The fixtures ``app``, ``demo_database``, ``engine`` and ``fresh_db`` of tests/conftest.py are replaced here by
Taoyuan's, so ``client``, ``api``, ``session`` and ``person`` work as everywhere else, as Taoyuan's people. The pack
is the process's (workflows.jurisdiction): each test here makes Taoyuan's the active one and gives Kaohsiung's back
afterwards, so the tests of the rest of the suite never see Taoyuan's forms.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, make_url, text, update

from models import Base, Person
from tests.conftest import DATA_KEY, NOW, ROOT
from tests.databases import demo_copies
from web import create_app, datakey
from web.config import core_settings
from web.extensions import db
from workflows import jurisdiction, settings
from workflows.demo import load_demo

KEY = "taoyuan"


@pytest.fixture(scope="session")
def taoyuan_url(database_url, tmp_path_factory) -> str:
    """SQLite: a file of its own. PostgreSQL: a database of its own on the test cluster, created once."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('taoyuan') / 'taoyuan.sqlite3'}"
    server = create_engine(url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = 'webir_taoyuan'")):
            connection.execute(text("CREATE DATABASE webir_taoyuan"))
    server.dispose()
    return url.set(database="webir_taoyuan").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def kaohsiung_pack():
    """The pack the rest of the suite runs on, as it was before Taoyuan's app was made."""
    return jurisdiction.active()


@pytest.fixture(scope="session")
def app(taoyuan_url, tmp_path_factory, kaohsiung_pack):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": taoyuan_url, "WTF_CSRF_ENABLED": False,
                      "SECRET_KEY": "test-secret", "DATA_ENCRYPTION_KEY": DATA_KEY, "JURISDICTION": KEY},
                     instance_path=str(tmp_path_factory.mktemp("taoyuan-instance")))
    app.config["TAOYUAN_PACK"] = jurisdiction.active()
    jurisdiction.activate(pack=kaohsiung_pack)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def engine(app):
    with app.app_context():
        return db.engine


@pytest.fixture(scope="session")
def demo_database(app, taoyuan_url, kaohsiung_pack):
    """Taoyuan's demo city with its diagrams deployed, built once per run (tests/databases.py)."""
    copies = demo_copies(taoyuan_url, Base.metadata)
    jurisdiction.activate(pack=app.config["TAOYUAN_PACK"])
    try:
        with app.app_context():
            copies.build(load_taoyuan)
    finally:
        jurisdiction.activate(pack=kaohsiung_pack)
    yield copies
    copies.close()


def load_taoyuan() -> None:
    Base.metadata.drop_all(db.engine)
    Base.metadata.create_all(db.engine)
    load_demo(db.session, now=NOW, bpmn_dir=ROOT / "bpmn" / KEY, include_history=False)
    db.session.commit()
    db.session.remove()


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
