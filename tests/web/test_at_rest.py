"""Start-up with the data key, the audit chain's command and the administrator's figure."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from models import sealing
from web import create_app, datakey
from web.extensions import db


def login(client, username):
    response = client.post("/login", data={"username": username, "password": "demo"})
    assert response.status_code == 302, response.text
    return client


@pytest.fixture
def production(app, tmp_path):
    """Build an app as production would (not testing, not debug); the test app's key is back afterwards."""
    built = []

    def build(**config):
        settings = {"TESTING": False, "DEBUG": False, "SECRET_KEY": "a-production-key", "DATA_ENCRYPTION_KEY": None,
                    "DATA_ENCRYPTION_KEY_FILE": str(tmp_path / "data-key"),
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'prod.sqlite3'}", **config}
        made = create_app(settings, instance_path=str(tmp_path))
        built.append(made)
        return made
    yield build
    for made in built:
        with made.app_context():
            db.engine.dispose()
    datakey.init_app(app)


def tamper(app, statement: str) -> None:
    with app.app_context(), db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        conn.execute(text(statement))


def test_production_refuses_to_start_without_a_data_key(production):
    with pytest.raises(RuntimeError, match="DATA_ENCRYPTION_KEY is not set"):
        production()


def test_production_refuses_the_published_development_key(production):
    with pytest.raises(RuntimeError, match="published development key"):
        production(DATA_ENCRYPTION_KEY=datakey.DEVELOPMENT_KEY)


def test_production_refuses_a_malformed_key(production):
    with pytest.raises(sealing.SealError, match="32 random bytes"):
        production(DATA_ENCRYPTION_KEY="not-a-key")


def test_production_reads_the_key_kept_in_the_instance_folder(production, tmp_path):
    key = sealing.new_key()
    (tmp_path / "data-key").write_text(key + "\n")
    made = production()
    assert made.config["DATA_ENCRYPTION_KEY"] == key
    assert sealing.unseal(sealing.seal("A123456789")) == "A123456789"


def test_verify_audit_reports_an_intact_trail(app):
    result = app.test_cli_runner().invoke(args=["verify-audit"])
    assert result.exit_code == 0, result.output
    assert "審計軌跡完整" in result.output


def test_verify_audit_names_the_first_altered_event_and_fails(app):
    tamper(app, "UPDATE audit_event SET payload = NULL WHERE seq = 2")
    result = app.test_cli_runner().invoke(args=["verify-audit"])
    assert result.exit_code == 1
    assert "第 2 筆起遭竄改" in result.output and "遭修改" in result.output


def test_verify_audit_names_a_deleted_event(app):
    tamper(app, "DELETE FROM audit_event WHERE seq = 3")
    result = app.test_cli_runner().invoke(args=["verify-audit"])
    assert result.exit_code == 1 and "第 3 筆起遭竄改" in result.output and "遭刪除" in result.output


def test_the_administrator_sees_the_chain_figure(app, client):
    login(client, "admin")
    page = client.get("/admin/audit")
    assert page.status_code == 200 and 'data-intact="1"' in page.text and "審計軌跡完整" in page.text
    assert "/admin/audit" in client.get("/admin/schedules").text  # reachable from the header
    tamper(app, "DELETE FROM audit_event WHERE seq = 2")
    broken = client.get("/admin/audit").text
    assert 'data-broken-at="2"' in broken and "第 2 筆起遭竄改" in broken
    english = client.get("/lang/en?next=/admin/audit", follow_redirects=True).text
    assert "Tampered with from event 2 on" in english


def test_only_administrators_see_the_chain_figure(client):
    login(client, "sw_unit_head")
    assert client.get("/admin/audit").status_code == 403
