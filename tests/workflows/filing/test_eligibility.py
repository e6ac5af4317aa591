"""Rules a city's book may turn on: no accounts for contractors (002 §5(5)), no queries outside office hours (§6(3)).

Off by default: Kaohsiung's people file as before, a contractor included.
"""

from __future__ import annotations

import pytest

from models import Application
from tests.conftest import NOW, QUERIER_ADD, registration
from workflows import settings
from workflows.errors import Forbidden, Invalid
from workflows.filing.applications import submit_application


@pytest.fixture
def rules_on():
    """Taipei's two rules for one test, then Kaohsiung's settings back."""
    before = (settings.SETTINGS.contractor_rule, settings.SETTINGS.office_hours_only)
    settings.configure(contractor_rule="002 第五點第五款", office_hours_only=True)
    yield
    settings.configure(contractor_rule=before[0], office_hours_only=before[1])


def flag_contractor(api, username):
    response = api.as_("admin").client.patch(f"/api/v1/org/people/{username}", json={"is_contractor": True},
                                             headers=api.as_("admin").headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["is_contractor"] is True


def test_a_contractor_files_an_account_where_the_rules_allow_it(api, session, person):
    flag_contractor(api, "sw_staff")
    app = submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=person("sw_staff"),
                             now=NOW)
    assert isinstance(app, Application) and app.id


def test_a_contractor_is_refused_an_account_with_the_clause(api, session, person, rules_on):
    flag_contractor(api, "sw_staff")
    with pytest.raises(Forbidden, match="002 第五點第五款"):
        submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=person("sw_staff"),
                           now=NOW)
    assert session.query(Application).filter_by(form_key="querier_account").count() == 0


def test_staff_not_flagged_file_as_before_with_the_rule_on(session, person, rules_on):
    app = submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=person("sw_staff"),
                             now=NOW)
    assert app.id


def test_the_contractor_flag_is_refused_when_neither_yes_nor_no(api):
    admin = api.as_("admin")
    response = admin.client.patch("/api/v1/org/people/sw_staff", json={"is_contractor": "maybe"},
                                  headers=admin.headers)
    assert response.status_code == 422
    assert "is_contractor" in response.get_json()["errors"]


def test_a_registration_on_a_day_off_is_refused_where_office_hours_bind(session, person, rules_on):
    sunday = registration(query_date="2026-11-29")
    with pytest.raises(Invalid) as refused:
        submit_application(session, form_key="query_registration", data=sunday, actor=person("applicant"), now=NOW)
    assert "002 第六點第三款" in refused.value.errors["rows[1].query_date"]


def test_a_registration_on_a_day_off_is_accepted_in_kaohsiung(session, person):
    sunday = registration(query_date="2026-11-29")
    app = submit_application(session, form_key="query_registration", data=sunday, actor=person("applicant"),
                             now=NOW)
    assert app.id
