"""What the page header's links ask of the signed-in person, read once per request."""

from __future__ import annotations

from flask import g
from flask_login import current_user

from workflows.identity.sessions import PageHeader, affiliation
from workflows.runtime.visibility import holdings_on

from . import clock
from .extensions import db


def request_holdings():
    """The roles the signed-in person holds today (their own and as a delegate), read at the first header link
    that asks and reused by the others (調閱紀錄, 查詢紀錄勾稽): one read of the holdings and the delegations per
    page instead of one per link. Only the header uses it, as it renders last, after any change the request made."""
    held = g.get("_header_holdings")
    if held is None:
        g._header_holdings = held = holdings_on(db.session, current_user, clock.today())
    return held


def keep_page_header(person, header: PageHeader):
    """Keep what the log-in read with the person for this request's header (a GET's); the person back."""
    g._page_header = header
    return person


def page_header() -> PageHeader | None:
    """The language, bell count and names read with the signed-in person, when this request read them so (a GET:
    nothing the request does changes them before its page renders); else None, and each is read where it is
    shown, after what the request changed."""
    return g.get("_page_header")


def header_affiliation() -> tuple[str, str | None]:
    """The signed-in person's agency and unit names for the header's name line (no unit: None)."""
    header = page_header()
    if header is not None:
        return header.agency, header.unit
    return affiliation(db.session, current_user)


def init_app(app) -> None:
    app.jinja_env.globals.update(header_affiliation=header_affiliation)
