"""Fixtures of the web tests beside tests/conftest.py's."""

from __future__ import annotations

import pytest

from web import create_app
from web.extensions import db


@pytest.fixture
def make_app(database_url, tmp_path):
    """create_app on the test database with tmp_path as the instance folder (a config.py there is read), and only
    the test config given; the apps' connections closed afterwards."""
    made = []

    def make(test_config=None):
        made.append(create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, **(test_config or {})},
                               instance_path=str(tmp_path)))
        return made[-1]
    yield make
    for app in made:
        with app.app_context():
            db.engine.dispose()
