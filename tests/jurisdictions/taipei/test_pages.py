"""Taipei's pages: its forms and duties render in its own words."""

from __future__ import annotations

import pytest


def login(client, username):
    assert client.post("/login", data={"username": username, "password": "demo"}).status_code == 302


@pytest.mark.parametrize("form", ["query_registration", "proxy_authorisation"])
def test_a_querier_opens_taipeis_forms(client, form):
    login(client, "applicant")
    page = client.get(f"/applications/new/{form}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "查詢時間（HH:MM，須於辦公時間）" in text or "代查時間（HH:MM，須於辦公時間）" in text


def test_the_schedules_page_names_the_half_yearly_audit(client):
    login(client, "admin")
    page = client.get("/admin/schedules").get_data(as_text=True)
    assert "使用機關內部稽核（至少每六個月）" in page and "每半年" in page


def test_the_org_admin_shows_and_sets_the_contractor_flag(client):
    login(client, "admin")
    page = client.get("/org/people/sw_contractor").get_data(as_text=True)
    assert 'id="e-contractor"' in page and "checked" in page.split('id="e-contractor"')[1].split(">")[0]
    done = client.post("/org/people/sw_staff", data={"name": "張書豪", "is_contractor": "1"})
    assert done.status_code == 302
    assert "checked" in client.get("/org/people/sw_staff").get_data(as_text=True).split('id="e-contractor"')[1] \
        .split(">")[0]
