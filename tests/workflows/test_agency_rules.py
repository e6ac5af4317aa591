"""An agency layer (bpmn/kaohsiung/agencies/<code>/pack.yaml) is checked like the city's pack: every problem listed."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
import yaml

from tests.conftest import ROOT
from workflows import agency_rules, jurisdiction
from workflows.agency_rules import LANE_ROLES, check_layers, parse_layer
from workflows.forms import FORMS, STEP_FORMS, form_for

SHIPPED = ROOT / "bpmn" / "kaohsiung" / "agencies" / "KHH-SW"


def test_the_shipped_layer_has_no_problems_and_adds_without_copying_the_city():
    assert check_layers("kaohsiung") == []
    layer = agency_rules.LAYERS["KHH-SW"]
    assert layer.replaces == {"querier_account", "query_registration"}
    assert layer.filers == {"query_request": "commissioned", "audit_record": "own"}
    assert {"query_request", "audit_record"} <= set(FORMS) and "permission_setting" in STEP_FORMS
    # The city's forms stay the city's: the agency's version only for the agency's own process.
    assert form_for("querier_account").title == "勞保 WebIR 資料查詢者帳號申請表"
    assert form_for("querier_account", "KHH-SW", "querier_account").title == "勞保 WebIR 資料查詢者帳號申請表"
    assert form_for("querier_account", "KHH-SW", "querier_account_khh_sw").source == "003 第二點；附表1"
    assert layer.settings["violation_report_days"] == 10 and layer.duty_sources == {"usage_check": "003 第七點"}


def test_a_broken_layer_is_refused_with_every_problem(tmp_path):
    folder = tmp_path / "KHH-SW"
    shutil.copytree(SHIPPED, folder)
    raw = yaml.safe_load((folder / "pack.yaml").read_text())
    raw["roles"]["district_chief"] = "區長"
    raw["settings"]["password_days"] = 90
    form = raw["forms"]["querier_account"]
    form["fields"] = [f for f in form["fields"] if f["name"] != "egov_account"]
    form["fields"].append({"name": "fax", "label": "傳真", "type": "fax"})
    form["fields"].append({"name": "kind", "label": "類別", "type": "choice"})
    raw["forms"]["audit_record"]["check"] = "no_such_check"
    raw["forms"]["audit_record"]["fields"].append({"name": "x", "label": "X", "type": "text",
                                                   "required_when": {"nothing": [True]}})
    raw["forms"]["query_request"]["filers"] = "everyone"
    (folder / "query_request.bpmn").unlink()
    raw["step_forms"]["review"] = {"decisions": ["approve", "shrug"]}
    (folder / "pack.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True))
    problems = parse_layer(folder, jurisdiction.active())[1]
    expected = ["'district_chief'", "'password_days'", "egov_account", "'fax'", "choice field without choices",
                "'no_such_check'", "'nothing'", "'everyone'", "query_request.bpmn", "step_forms.review: the city's",
                "'shrug'"]
    assert all(any(word in p for p in problems) for word in expected), problems
    assert len(problems) == len(expected)


def test_every_lane_a_layer_may_name_is_resolved_by_the_code():
    from workflows.runtime import candidates

    class App:  # the resolver reads only these
        applicant_id, unit_id, agency_id, data = 1, 1, 1, {"querier": "applicant"}
        agency = type("Agency", (), {"commissioned_by": None, "code": "KHH-FS", "id": 1})()

    from datetime import date
    assert all(candidates._lane_holder_ids(role, App(), date(2026, 11, 25)) is not None for role in LANE_ROLES)


def test_a_broken_layer_stops_the_start_and_the_pack_check_names_it(database_url, tmp_path, app):
    from web import create_app
    from web.config import PackRefused

    from .packs.test_pack_checks import copy_pack

    folder = copy_pack(tmp_path, "kaohsiung")
    layer = folder / "agencies" / "KHH-SW" / "pack.yaml"
    layer.write_text(layer.read_text().replace("filer_role: agency_manager", "filer_role: chief_auditor"))
    try:
        with pytest.raises(PackRefused) as refused:
            create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "PACKS_DIR": tmp_path},
                       instance_path=str(tmp_path / "instance"))
    finally:
        jurisdiction.activate("kaohsiung")
    assert any("KHH-SW" in p and "chief_auditor" in p for p in refused.value.problems), refused.value.problems
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(app.config, "PACKS_DIR", tmp_path)
        result = app.test_cli_runner().invoke(args=["pack", "check", "--key", "kaohsiung"])
    assert result.exit_code == 1 and "chief_auditor" in result.output


def test_an_agency_layers_own_id_column_in_a_sheets_rows_is_masked(monkeypatch):
    """An agency layer's version of a form may name its rows' ID column differently from the city's: masking reads
    the layer's columns too, not only its top-level fields."""
    from workflows import forms

    city = FORMS["query_registration"]
    rows = next(f for f in city.fields if f.type == "rows")
    own = replace(rows, columns=(*rows.columns, forms.Field("spouse_national_id", "配偶身分證號", "national_id",
                                                             sensitive=True)))
    layer = replace(city, fields=tuple(own if f is rows else f for f in city.fields))
    monkeypatch.setitem(forms.AGENCY_FORMS, "KHH-TEST", {"query_registration": ("query_registration_test", layer)})
    number = "A123456789"
    shown = forms.masked("query_registration", {"rows": [{"subject_name": "陳小明", "spouse_national_id": number}]})
    assert shown["rows"][0]["spouse_national_id"] == forms.mask_id(number) and number not in str(shown)
