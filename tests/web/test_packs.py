"""JURISDICTION chooses the pack a deployment serves; a pack with problems stops the start, naming every one."""

from __future__ import annotations

import os

import pytest

from models import ROLE_LABELS, Role
from web.config import PackRefused
from workflows import jurisdiction
from workflows.settings import SETTINGS

from ..workflows.packs.test_pack_checks import EXPECTED, broken_pack, edited_pack


@pytest.fixture(autouse=True)
def no_jurisdiction_from_the_machine(monkeypatch):
    """No JURISDICTION from the machine for the apps made here (tests/web/conftest.py's make_app); Kaohsiung's pack
    again afterwards."""
    for name in ("JURISDICTION", "WEBIR_JURISDICTION", "WEBIR_PACKS_DIR", "WEBIR_BPMN_DIR"):
        monkeypatch.delenv(name, raising=False)
    yield
    jurisdiction.activate("kaohsiung")


def harbour(root):
    """A sound pack of another city: Kaohsiung's diagrams with its own words and settings."""
    with edited_pack(root, "harbour") as pack:
        pack.update(name="港市", city="harbour")
        pack["roles"]["querier"] = "業務承辦者"
        pack["settings"].update(office_hours_only=True, retention_years={"applications": 3}, violation_report_days=7)
    return root / "harbour"


def test_a_pack_with_problems_stops_the_start_naming_every_one(make_app, tmp_path, capsys):
    broken_pack(tmp_path)
    with pytest.raises(PackRefused) as refused:
        make_app({"JURISDICTION": "broken", "PACKS_DIR": tmp_path})
    assert len(refused.value.problems) == len(EXPECTED)
    printed = capsys.readouterr().err
    for expected in EXPECTED:
        assert f"jurisdiction pack 'broken': {expected}" in printed
        assert expected in str(refused.value)
    assert jurisdiction.active().key == "kaohsiung"  # the refused pack was never made the process's


def test_jurisdiction_from_the_environment_chooses_the_pack_and_its_settings(make_app, tmp_path, monkeypatch):
    folder = harbour(tmp_path)
    monkeypatch.setenv("WEBIR_JURISDICTION", "harbour")
    monkeypatch.setenv("WEBIR_VIOLATION_REPORT_DAYS", "5")  # the deployment's own setting wins over the pack's
    app = make_app({"PACKS_DIR": tmp_path})
    assert app.config["JURISDICTION"] == "harbour" and app.config["BPMN_DIR"] == folder
    assert jurisdiction.active().name == "港市" and ROLE_LABELS[Role.QUERIER] == "業務承辦者"
    assert app.config["OFFICE_HOURS_ONLY"] is True and SETTINGS.office_hours_only is True
    assert app.config["RETENTION_YEARS"] == {"applications": 3, "query_logs": 5, "deletion_proofs": 5}
    assert SETTINGS.violation_report_days == 5
    with app.test_request_context():
        assert str(app.jinja_env.globals["ROLE_LABELS"][Role.QUERIER]) == "業務承辦者"


def test_the_plain_jurisdiction_variable_works_as_make_run_passes_it(make_app, tmp_path, monkeypatch):
    harbour(tmp_path)
    monkeypatch.setenv("JURISDICTION", "harbour")
    app = make_app({"PACKS_DIR": tmp_path})
    assert app.config["JURISDICTION"] == "harbour" and jurisdiction.active().key == "harbour"
    result = app.test_cli_runner().invoke(args=["demo-logins"])
    assert "港市（JURISDICTION=harbour）" in result.output and "applicant" in result.output


def test_each_city_has_its_own_demo_database_by_default(monkeypatch, tmp_path):
    from flask import Config

    from web.config import Config as Defaults
    from web.config import load_config

    for name in list(os.environ):
        if name.startswith("WEBIR_") or name in ("JURISDICTION", "DATABASE_URL"):
            monkeypatch.delenv(name)
    config = Config(str(tmp_path))
    load_config(config)
    assert config["SQLALCHEMY_DATABASE_URI"] == Defaults.SQLALCHEMY_DATABASE_URI
    monkeypatch.setenv("JURISDICTION", "taoyuan")
    config = Config(str(tmp_path))
    load_config(config)
    assert config["SQLALCHEMY_DATABASE_URI"].endswith("/instance/webir-taoyuan.sqlite3")


def test_flask_pack_check_lists_every_problem(app, tmp_path):
    broken_pack(tmp_path)
    runner = app.test_cli_runner()
    clean = runner.invoke(args=["pack", "check"])
    assert clean.exit_code == 0 and "kaohsiung: no problems" in clean.output
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(app.config, "PACKS_DIR", tmp_path)
        result = runner.invoke(args=["pack", "check", "--key", "broken"])
    assert result.exit_code == 1
    for expected in EXPECTED:
        assert f"broken: {expected}" in result.output


def test_the_schedules_page_shows_a_half_yearly_duty_of_the_pack(client, tmp_path):
    with edited_pack(tmp_path, "harbour") as pack:
        pack["duties"]["usage_check"].update(every="half_year", day=1, due_day=10)
    jurisdiction.activate("harbour", tmp_path)
    try:
        assert client.post("/login", data={"username": "admin", "password": "demo"}).status_code == 302
        page = client.get("/admin/schedules").text
        row = page[page.index('data-schedule="usage_check"'):]
        assert "<td>每半年</td>" in row[:row.index("</tr>")]
    finally:
        jurisdiction.activate("kaohsiung")


def test_the_api_names_a_fields_clause_and_its_attestations(api, tmp_path):
    fields = {f["name"]: f for f in api.as_("applicant").get("/api/v1/forms/querier_account").get_json()["fields"]}
    assert fields["has_egov_account"]["attestation"] is True and fields["read_pdpa"]["attestation"] is True
    assert "attestation" not in fields["name"] and "source" not in fields["name"]
    with edited_pack(tmp_path, "harbour") as pack:
        pack["forms"]["querier_account"]["fields"][1] = {"use": "name", "source": "004 附表二"}
    with jurisdiction.activated("harbour", tmp_path):
        fields = api.as_("applicant").get("/api/v1/forms/querier_account").get_json()["fields"]
    assert fields[1] == {"name": "name", "label": "姓名", "type": "string", "required": True, "source": "004 附表二"}


def test_every_page_names_the_city_whose_rules_it_serves(client):
    footer = client.get("/login").text.split('<footer class="bottom">')[1]
    assert "<p>高雄市 · 勞保 WebIR 申請簽核系統" in footer
    client.get("/lang/en?next=/login")
    assert "<p>Kaohsiung City · " in client.get("/login").text.split('<footer class="bottom">')[1]
