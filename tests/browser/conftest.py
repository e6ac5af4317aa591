"""Browser tests: the real app behind a live server, driven by Debian's chromium through Playwright.

The live server runs its own Flask app on the same database as the session ``app`` fixture, so the
autouse ``fresh_db`` fixture (root conftest) resets it before every test; unlike ``app``, it keeps
CSRF protection on, as production does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask, got_request_exception
from werkzeug.serving import make_server

from web import create_app
from web.extensions import db

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@dataclass
class LiveServer:
    url: str
    app: Flask
    errors: list[BaseException] = field(default_factory=list)


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[LiveServer]:
    live_app = create_app({
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "browser-test-secret",
        "DATA_ENCRYPTION_KEY": app.config["DATA_ENCRYPTION_KEY"],  # not testing: it needs a key of its own
        "WTF_CSRF_ENABLED": True,
    }, instance_path=app.instance_path)
    assert live_app.config["WTF_CSRF_ENABLED"] and not live_app.testing
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    live = LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=live_app)

    def record(_sender, exception, **_extra):
        live.errors.append(exception)

    got_request_exception.connect(record, live_app, weak=False)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield live
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
        got_request_exception.disconnect(record, live_app)
        with live_app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def base_url(live_server) -> str:
    """pytest-playwright passes this to every browser context, so pages can goto('/login')."""
    return live_server.url


@pytest.fixture(autouse=True)
def _no_server_errors(live_server):
    """A 500 in the live server fails the test that caused it, even if the page looked fine."""
    live_server.errors.clear()
    yield
    assert not live_server.errors, f"the live server raised: {live_server.errors!r}"


@pytest.fixture(autouse=True)
def _no_csp_violations(context):
    """Anything the Content-Security-Policy blocks fails the test, on every page the browser tests open.

    Inline scripts and on...= handlers are blocked by design, so a page still relying on one would silently
    lose its behaviour. Chromium logs each block as an error: "Refused to ..." in older builds, "Executing
    inline script violates the following Content Security Policy directive ..." in current ones.
    """
    refused: list[str] = []

    def record(message) -> None:
        if message.text.startswith("Refused to") or "Content Security Policy" in message.text:
            refused.append(f"{message.page.url if message.page else '?'}: {message.text}")

    context.on("console", record)
    yield
    assert not refused, "\n".join(refused)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
