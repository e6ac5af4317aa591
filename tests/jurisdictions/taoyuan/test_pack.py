"""Taoyuan's pack as the app serves it: checked, its words, its settings, its people, its password period."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine

from models import ROLE_LABELS, AgencyKind, Role
from workflows import jurisdiction
from workflows.settings import SETTINGS

from .conftest import passwords_changed


def test_the_pack_has_no_problems_and_the_cli_says_so(app):
    result = app.test_cli_runner().invoke(args=["pack", "check", "--key", "taoyuan"])
    assert result.exit_code == 0 and "taoyuan: no problems" in result.output


def test_taoyuans_own_words_and_settings(app):
    pack = jurisdiction.active()
    assert (pack.key, pack.name, pack.city) == ("taoyuan", "桃園市", "taoyuan")
    assert ROLE_LABELS[Role.QUERIER] == "業務承辦者" and ROLE_LABELS[Role.AGENCY_MANAGER] == "機關管理者"
    assert jurisdiction.KIND_LABELS[AgencyKind.CENTRAL] == "資訊中心"
    assert jurisdiction.KIND_LABELS[AgencyKind.AUTHORITY] == "勞動局"
    assert app.config["PASSWORD_CHANGE_MONTHS"] == 3 and SETTINGS.password_change_months == 3


def test_the_demo_logins_are_taoyuans_people_and_keep_the_common_three(app):
    output = app.test_cli_runner().invoke(args=["demo-logins"]).output
    assert "桃園市（JURISDICTION=taoyuan）" in output
    for line in ("applicant      陳雅雯", "manager        張淑娟", "admin          系統管理者", "fx_querier"):
        assert line in output


def test_a_taoyuan_person_past_three_months_changes_the_password_first(api, session):
    passwords_changed(session, datetime(2026, 9, 1, 1, 0, tzinfo=UTC))
    with time_machine.travel(datetime(2026, 12, 2, 1, 0, tzinfo=UTC), tick=False):
        applicant = api.as_("applicant")
        refused = applicant.get("/api/v1/forms")
        assert refused.status_code == 403 and refused.get_json()["type"] == "urn:webir:problem:password-expired"
        changed = applicant.post("/api/v1/password",
                                 json={"current_password": "demo", "new_password": "桃園市-2026-12"})
        assert changed.status_code == 200
        fresh = {"Authorization": f"Bearer {changed.get_json()['token']}"}
        assert applicant.client.get("/api/v1/forms", headers=fresh).status_code == 200
