"""Taipei keeps an account's application forms 3 years after the account is cancelled (002 §7(2)), not after the
form's own closing: while the account lives the form stays off the yearly destruction list."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import AccountKind, AccountStatus, Agency, WebirAccount
from tests.conftest import NOW
from tests.jurisdictions.taipei.test_chains import walk
from workflows.retention.destruction import due_applications
from workflows.settings import SETTINGS

YEAR = timedelta(days=365)


def sw(session) -> int:
    return session.scalar(select(Agency.id).where(Agency.code == "TPE-SW"))


def test_an_account_form_is_kept_while_its_account_lives_and_three_years_after_it_ends(api, session):
    form = walk(api, "querier_account")["id"]
    registration = walk(api, "query_registration")["id"]
    assert SETTINGS.retention_years["applications"] == 3 and SETTINGS.account_forms_from_cancellation

    listed = due_applications(session, sw(session), NOW + 4 * YEAR)
    assert registration in listed and form not in listed  # the account still lives

    account = session.scalar(select(WebirAccount).where(WebirAccount.kind == AccountKind.QUERIER,
                                                        WebirAccount.person.has(username="sw_staff")))
    account.status, account.disabled_at = AccountStatus.DISABLED, NOW + 2 * YEAR
    session.commit()
    assert form not in due_applications(session, sw(session), NOW + 4 * YEAR)  # cancelled 2 years before
    assert form in due_applications(session, sw(session), NOW + 5 * YEAR + timedelta(days=2))


def test_where_the_rules_count_from_closing_the_form_is_listed_three_years_after_it(api, session, monkeypatch):
    form = walk(api, "querier_account")["id"]
    monkeypatch.setattr(SETTINGS, "account_forms_from_cancellation", False)
    assert form in due_applications(session, sw(session), NOW + 3 * YEAR + timedelta(days=2))
