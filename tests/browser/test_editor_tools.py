"""The editor speaks Chinese, offers only what runs here, zooms, plays a token and never checks a stale diagram."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_editor import log_in_as, log_in_as_admin, open_editor

pytestmark = pytest.mark.browser

ASCII_WORDS = re.compile(r"^[\x00-\x7f]*[A-Za-z][\x00-\x7f]*$")  # only ASCII, with a letter: an English leftover


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(15_000)
    return page


def editor_js(page: Page, script: str):
    return page.evaluate(f"() => {{ const ed = document.getElementById('editor').editor; {script} }}")


def test_the_palette_offers_only_runnable_elements_in_chinese(page: Page):
    log_in_as_admin(page)
    open_editor(page)
    entries = page.locator(".djs-palette .entry")
    expect(entries.first).to_be_visible()
    actions = entries.evaluate_all("es => es.map(e => e.dataset.action)")
    titles = entries.evaluate_all("es => es.map(e => e.getAttribute('aria-label'))")
    assert "create.task" in actions and "create.start-event" in actions and "create.exclusive-gateway" in actions
    for gone in ("create.subprocess-expanded", "create.data-object", "create.data-store", "create.group"):
        assert gone not in actions
    assert all(titles) and not [t for t in titles if ASCII_WORDS.match(t)], titles

    # A task from the palette is an approval step (a user task), not a plain task.
    page.locator('.djs-palette [data-action="create.task"]').click()
    page.mouse.click(700, 500)
    assert editor_js(page, "return ed.get('elementRegistry').filter(e => e.type === 'bpmn:Task').length") == 0

    # The context pad of a step appends no receive task or message event, and says everything in Chinese.
    editor_js(page, "ed.get('selection').select(ed.get('elementRegistry').get('unit_head_review'));")
    pad = page.locator(".djs-context-pad .entry")
    expect(pad.first).to_be_visible()
    pad_actions = pad.evaluate_all("es => es.map(e => e.dataset.action)")
    assert "append.append-task" in pad_actions
    assert "replace" not in pad_actions  # a user task cannot become anything else that runs here
    assert not [a for a in pad_actions if "receive" in a or "message" in a or "signal" in a]
    assert not [t for t in pad.evaluate_all("es => es.map(e => e.title)") if ASCII_WORDS.match(t)]

    # A plain task (as in a diagram drawn elsewhere) changes into a user task only: no receive, send, script or
    # service task, no sub-process.
    editor_js(page, """const pool = ed.get('elementRegistry').get('pool_querier_account');
        const task = ed.get('modeling').createShape({ type: 'bpmn:Task' }, { x: 700, y: 560 }, pool);
        ed.get('selection').select(task);""")
    page.locator('.djs-context-pad [data-action="replace"]').click()
    menu = page.locator(".djs-popup .entry")
    expect(menu.first).to_be_visible()
    ids = menu.evaluate_all("es => es.map(e => e.dataset.id)")
    assert "replace-with-user-task" in ids
    assert not [i for i in ids if re.search(r"receive|send|script|service|subprocess|call-activity", i)], ids
    labels = menu.evaluate_all("es => es.map(e => e.textContent.trim() || e.title)")
    assert not [t for t in labels if ASCII_WORDS.match(t)], labels


def test_a_boundary_event_changes_only_into_a_timer(page: Page):
    log_in_as_admin(page)
    open_editor(page)
    editor_js(page, "ed.get('selection').select(ed.get('elementRegistry').get('remind_unit_head_review'));")
    page.locator('.djs-context-pad [data-action="replace"]').click()
    ids = page.locator(".djs-popup .entry").evaluate_all("es => es.map(e => e.dataset.id)")
    assert ids and all("timer-boundary" in i for i in ids), ids


def test_zoom_buttons_and_fit_change_the_editor_canvas_zoom(page: Page):
    log_in_as_admin(page)
    open_editor(page)
    zoom = lambda: editor_js(page, "return ed.get('canvas').zoom();")  # noqa: E731
    fitted = zoom()
    page.get_by_role("button", name="放大", exact=True).click()
    assert zoom() == pytest.approx(fitted * 1.25, rel=0.01)
    page.get_by_role("button", name="縮小", exact=True).click()
    page.get_by_role("button", name="縮小", exact=True).click()
    assert zoom() == pytest.approx(fitted * 0.8, rel=0.01)
    page.get_by_role("button", name="符合畫面").click()
    assert zoom() == pytest.approx(fitted, rel=0.01)


def test_the_main_actions_are_reachable_by_tab_and_the_shortcuts_are_on_the_page(page: Page):
    log_in_as_admin(page)
    open_editor(page)
    page.get_by_role("button", name="檢查", exact=True).focus()
    reached = []
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("() => document.activeElement.dataset.action || document.activeElement.id"))
    for action in ("save-draft", "download", "zoom-in", "zoom-out", "fit", "simulate", "deploy"):
        assert action in reached, reached
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")
    page.get_by_text("鍵盤操作").click()
    expect(page.locator(".shortcuts")).to_contain_text("開始／結束模擬流程")


def test_token_simulation_starts_a_token_on_the_start_event(page: Page):
    log_in_as_admin(page)
    open_editor(page)
    simulate = page.get_by_role("button", name="模擬流程")
    simulate.click()
    expect(simulate).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#editor")).to_have_class(re.compile(r"(^|\s)simulating(\s|$)"))
    editor_js(page, """window.__traced = [];
        ed.get('eventBus').on('tokenSimulation.simulator.trace', e => window.__traced.push(e.element.id));""")
    page.locator('.djs-overlays[data-container-id="start"] .bts-context-pad').first.click()
    page.wait_for_function("() => window.__traced.includes('start')")
    simulate.click()
    expect(simulate).to_have_attribute("aria-pressed", "false")


def test_the_viewer_on_an_application_page_and_the_dashboard_zooms(page: Page, session, person):
    log_in_as(page, "manager")
    page.goto("/dashboard")
    diagram = page.locator("#diagram")
    expect(diagram).to_have_attribute("data-ready", "true")
    zoom = lambda: page.evaluate("() => document.getElementById('diagram').viewer.get('canvas').zoom()")  # noqa: E731
    fitted = zoom()
    page.locator(".diagram-zoom").get_by_role("button", name="放大").click()
    assert zoom() == pytest.approx(fitted * 1.25, rel=0.01)
    page.locator(".diagram-zoom").get_by_role("button", name="縮小").click()
    page.locator(".diagram-zoom").get_by_role("button", name="縮小").click()
    assert zoom() == pytest.approx(fitted * 0.8, rel=0.01)
    page.locator(".diagram-zoom").get_by_role("button", name="符合畫面").click()
    assert zoom() == pytest.approx(fitted, rel=0.01)


def test_after_a_broken_upload_check_shows_the_import_error_not_the_previous_diagram(page: Page, tmp_path):
    log_in_as_admin(page)
    open_editor(page)
    page.get_by_role("button", name="檢查", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(re.compile("檢查通過|發現"))
    broken = tmp_path / "broken.bpmn"
    broken.write_text("<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'><oops",
                      encoding="utf-8")
    page.locator('input[type=file][data-action="upload"]').set_input_files(str(broken))
    expect(page.get_by_role("status")).to_contain_text("無法開啟這個檔案")
    page.get_by_role("button", name="檢查", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("無法開啟這個檔案")
    expect(page.locator(".problem-list")).to_contain_text("無法開啟這個檔案")
    expect(page.locator(".problem-list li")).to_have_count(1)


def test_import_warnings_stay_visible_after_an_upload(page: Page, tmp_path):
    log_in_as_admin(page)
    open_editor(page)
    xml = editor_js(page, "return ed.xml();")
    odd = tmp_path / "odd.bpmn"
    # An element bpmn-js does not know is skipped with a warning: the administrator must see that.
    odd.write_text(xml.replace("</bpmn:process>", "<bpmn:unknownThing id='odd' /></bpmn:process>", 1),
                   encoding="utf-8")
    page.locator('input[type=file][data-action="upload"]').set_input_files(str(odd))
    expect(page.get_by_role("status")).to_contain_text("已開啟 odd.bpmn")
    expect(page.get_by_role("status")).to_contain_text("無法辨識")
    expect(page.locator(".problem-list li.warning").first).to_be_visible()


def test_check_warns_about_an_approval_step_without_its_timers(page: Page):
    log_in_as_admin(page)
    open_editor(page)
    editor_js(page, """const r = ed.get('elementRegistry');
        ed.get('modeling').removeElements([r.get('remind_unit_head_review'), r.get('escalate_unit_head_review')]);""")
    page.get_by_role("button", name="檢查", exact=True).click()
    item = page.locator('.problem-list li.warning[data-element="unit_head_review"]', has_text="逾期提醒")
    expect(item).to_have_count(1)
    kept = page.locator('.problem-list li.warning[data-element="agency_manager_setup"]', has_text="逾期提醒")
    expect(kept).to_have_count(0)
