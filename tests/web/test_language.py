"""The UI language: Traditional Chinese by default, English from the header's switcher (the ``lang`` cookie)."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from tests.conftest import QUERIER_ADD, page_registration

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = ROOT / "web" / "translations"
ENGLISH_PO = CATALOGUES / "en" / "LC_MESSAGES" / "messages.po"
ENGLISH_MO = ENGLISH_PO.with_suffix(".mo")
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "_lp": ((1, "c"), 2)}  # as in `make translations`


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogue():
    assert ENGLISH_MO.exists() and ENGLISH_MO.stat().st_mtime >= ENGLISH_PO.stat().st_mtime, \
        "compile the catalogue first: make install (pybabel compile -d web/translations)"


def login(client, username):
    response = client.post("/login", data={"username": username, "password": "demo"})
    assert response.status_code == 302, response.text
    return client


def english(client):
    response = client.get("/lang/en?next=/")
    assert response.status_code == 302
    return client


def form_data(data):
    """Data as a page posts it: booleans as checkboxes, a sheet's rows as their numbered inputs."""
    return {k: ("y" if v is True else v) for k, v in page_registration(data).items() if v is not False}


def errors_in(html):
    return re.findall(r'class="error" role="alert">([^<]*)<', html)


def html_lang(html):
    return re.search(r'<html lang="([^"]+)"', html)[1]


def file_querier_account(app) -> int:
    staff = login(app.test_client(), "sw_staff")
    filed = staff.post("/applications/new/querier_account", data=form_data(QUERIER_ADD))
    assert filed.status_code == 302
    return int(filed.location.rsplit("/", 1)[1])


# --- the switcher ---------------------------------------------------------------------------------------------------

def test_chinese_is_the_default(client):
    page = client.get("/login").text
    assert html_lang(page) == "zh-Hant-TW"
    assert "<h1>登入</h1>" in page and "帳號" in page and "Log in" not in page
    assert 'href="/lang/en?next=/login"' in page  # the switcher, on every page
    login(client, "sw_unit_head")
    inbox = client.get("/").text
    assert html_lang(inbox) == "zh-Hant-TW" and "待辦事項" in inbox and "Inbox" not in inbox


def test_the_switcher_sets_the_cookie_and_returns_to_the_page(client):
    login(client, "sw_unit_head")
    response = client.get("/lang/en?next=/applications/mine?page=2")
    assert response.status_code == 302 and response.location == "/applications/mine?page=2"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=en;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/applications/mine").text
    assert html_lang(page) == "en" and "<h1>My applications</h1>" in page
    assert 'href="/lang/zh_Hant_TW?next=/applications/mine"' in page
    back = client.get("/lang/zh_Hant_TW?next=/applications/mine")
    assert back.location == "/applications/mine"
    assert "<h1>我的申請</h1>" in client.get("/applications/mine").text


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "evil.example",
                                    "javascript:alert(1)", "/\r\nSet-Cookie:x=y", "/\tevil", ""])
def test_an_off_site_next_is_refused(client, target):
    response = client.get("/lang/en", query_string={"next": target} if target else {})
    assert response.status_code == 302
    assert response.location == "/"
    assert response.headers["Set-Cookie"].startswith("lang=en;")


def test_only_known_languages(client):
    assert client.get("/lang/fr?next=/").status_code == 404
    client.set_cookie("lang", "fr")  # a stale or forged cookie falls back to Chinese
    assert html_lang(client.get("/login").text) == "zh-Hant-TW"


# --- pages in English -----------------------------------------------------------------------------------------------

def test_the_inbox_in_english(app):
    application_id = file_querier_account(app)
    head = english(login(app.test_client(), "sw_unit_head"))
    inbox = head.get("/").text
    assert html_lang(inbox) == "en"
    assert "<h1>Inbox " in inbox and ">Case no.</th>" in inbox and ">Waiting</th>" in inbox
    assert "Labor Insurance WebIR data querier account application" in inbox  # form title from workflows.forms
    assert ">Unit head</div>" in inbox  # role label from models.org
    assert ">單位主管核准</a>" in inbox  # step names are the diagram's own: not translated
    assert re.search(r"<td[^>]*>2026-\d\d-\d\d \d\d:\d\d</td>", inbox)  # Gregorian ISO, not ROC
    assert "0 days" in inbox and "天" not in inbox
    assert ">Log out</button>" in inbox and ">New application</a>" in inbox

    task_url = re.search(r'href="(/tasks/\d+)" class="task-link"', inbox)[1]
    task = head.get(task_url).text
    assert f"Labor Insurance WebIR data querier account application (case no. {application_id})" in task
    assert ">Approve</label>" in task and ">Reject</label>" in task and ">Return for correction</label>" in task
    assert "<legend>Decision</legend>" in task and ">Opinion</label>" in task
    assert "A12****789" in task and "C0101 Insured person&#39;s coverage records" in task
    refused = head.post(task_url, data={"decision": "reject"})
    assert errors_in(refused.text) == ["Give your opinion (the reason) when you reject or return an application"]
    done = head.post(task_url, data={"decision": "approve"})
    assert done.status_code == 302
    flashed = head.get("/").text
    assert "Submitted: 單位主管核准 (Approve)" in flashed and "Your inbox is empty." in flashed
    again = head.post(task_url, data={"decision": "approve"}, follow_redirects=True)  # a workflows message
    assert "This case has been handled by someone else or has closed" in again.text


def test_a_form_in_english_names_each_field_in_its_errors(client):
    english(login(client, "sw_staff"))
    page = client.get("/applications/new/querier_account").text
    assert "<h1>Labor Insurance WebIR data querier account application</h1>" in page
    assert "Basis: 000 Annex 3; 003 Annex 1; 001 §5(2)" in page
    assert ">National ID number</label>" in page and "<legend>Request</legend>" in page
    assert ">Add a data querier</label>" in page and ">Job change</label>" in page
    assert "C0101 Insured person&#39;s coverage records" in page
    assert ">Submit application</button>" in page
    response = client.post("/applications/new/querier_account",
                           data=form_data({**QUERIER_ADD, "national_id": "A123456788", "has_egov_account": False,
                                           "phone": "12345", "reason": ""}))
    assert response.status_code == 200
    assert set(errors_in(response.text)) == {
        "“National ID number”: check digit is incorrect",
        "“I have applied for a civil-service account on the My E-Government platform” must be ticked to confirm",
        "“Office phone”: invalid format; e.g. 07-3368333#1234 or 0912-345-678",
        "“Reason for the application” is required",
    }


def test_the_application_page_in_english(app):
    application_id = file_querier_account(app)
    staff = english(login(app.test_client(), "sw_staff"))
    page = staff.get(f"/applications/{application_id}").text
    assert html_lang(page) == "en"
    assert '<span class="state state-running" id="state">Under review</span>' in page
    assert re.search(r"Filed on 2026-\d\d-\d\d", page) and not re.search(r"1\d\d年\d\d月\d\d日", page)
    assert "Now at “單位主管核准” (Unit head): 陳志明, since 2026-" in page
    assert "<h2>Sign-off record</h2>" in page and "<th>Signed by</th>" in page
    assert ">Application filed</td>" in page and "<td>Applicant</td>" in page
    assert "<dt>National ID number</dt><dd>A12****789</dd>" in page
    assert "<dt>Request</dt><dd>Add a data querier</dd>" in page
    assert "<li>C0101 Insured person&#39;s coverage records</li>" in page
    assert ">Withdraw application</button>" in page and 'data-confirm="Withdraw this application?"' in page
    assert '"noHolder": "No handler yet"' in page  # the diagram script's strings
    trail = staff.get(f"/applications/{application_id}/trail.json").get_json()
    assert trail["current"][0]["role"] == "Unit head" and trail["current"][0]["since_text"].startswith("since 2026-")

    # The choice is kept on the person: it follows them to another browser, until they switch back.
    elsewhere = login(app.test_client(), "sw_staff")
    assert html_lang(elsewhere.get(f"/applications/{application_id}").text) == "en"
    elsewhere.get("/lang/zh_Hant_TW?next=/")
    chinese = elsewhere.get(f"/applications/{application_id}").text
    assert "審核中" in chinese and re.search(r"申請日期 1\d\d年\d\d月\d\d日", chinese)  # ROC dates stay in Chinese
    assert html_lang(staff.get(f"/applications/{application_id}").text) == "zh-Hant-TW"  # and everywhere


def test_the_export_follows_the_language(app):
    file_querier_account(app)
    head = english(login(app.test_client(), "sw_unit_head"))
    lines = head.get("/applications/export.csv").text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Case no.,Form,Applicant,Agency,Unit,Status,Current step")
    assert "Under review" in lines[1] and re.search(r",2026-\d\d-\d\d,", lines[1])


# --- the catalogue --------------------------------------------------------------------------------------------------

def english_catalogue():
    with ENGLISH_PO.open("rb") as f:
        return read_po(f, locale="en")


def test_the_english_catalogue_has_no_untranslated_or_fuzzy_entries():
    catalogue = english_catalogue()
    entries = [m for m in catalogue if m.id]
    assert len(entries) > 400
    untranslated = [m.id for m in entries if not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    fuzzy = [m.id for m in entries if m.fuzzy]
    assert untranslated == [] and fuzzy == []
    for m in entries:  # a translation keeps every placeholder of its msgid
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        wanted = set(re.findall(r"%\(\w+\)s|\{\w+\}", ids[-1]))
        for string in strings:
            assert set(re.findall(r"%\(\w+\)s|\{\w+\}", string)) == wanted, (m.id, string)


def test_the_catalogue_has_every_string_the_code_marks():
    """`make translations` was run: every string babel.cfg extracts is in the English catalogue."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    extracted = {(context, message if isinstance(message, str) else message[0])
                 for _file, _line, message, _comments, context in extract_from_dir(
                     str(ROOT), method_map, options_map, keywords=KEYWORDS,
                     directory_filter=lambda path: not Path(path).name.startswith((".", "_", "node_modules")))}
    catalogue = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in english_catalogue() if m.id}
    assert extracted - catalogue == set(), "run `make translations` and translate the new entries"
    assert ("state", "退回補正") in extracted and (None, "勞保 WebIR 資料查詢者帳號申請表") in extracted


def test_a_page_in_english_can_still_print_in_chinese_inside_force_locale(app):
    """Templates take the request's catalogue once; a part rendered under ``force_locale`` (the printed sheets)
    still gets its own language, and the page after it English again."""
    from flask import render_template_string
    from flask_babel import force_locale

    from web.i18n import DEFAULT_LOCALE, tr

    label = "{{ _('待辦事項') }}|{{ ngettext('%(num)s 天', '%(num)s 天', 2) }}|{{ '同意' | tr }}"
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert render_template_string(label) == "Inbox|2 days|Approve"
        with force_locale(DEFAULT_LOCALE):
            assert render_template_string(label) == "待辦事項|2 天|同意"
            assert tr("同意") == "同意"
        assert render_template_string(label) == "Inbox|2 days|Approve"
