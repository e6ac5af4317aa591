"""What an approved application changes in the account records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import (
    QUERY_ITEMS,
    AccountItem,
    AccountKind,
    Agency,
    AgencyQueryItem,
    Application,
    Role,
    RoleHolding,
    WebirAccount,
)

from .. import audit
from ..calendar import local_date
from ..forms import FORMS
from .admission import apply_admission, apply_suspension
from .records import active_account, departed_querier, disable_account, end_account_on
from .review import apply_review
from .transfers import apply_transfer


def agency_items(session: Session, agency_id: int) -> set[str]:
    return set(session.scalars(select(AgencyQueryItem.item_code).where(AgencyQueryItem.agency_id == agency_id)))


BUREAU_ITEMS, TO_BUREAU = "bureau_items", "to_bureau"


def city_items(session: Session, city: str) -> set[str]:
    """Every item some agency of the city already holds: the city has applied for it with 勞保局."""
    return set(session.scalars(select(AgencyQueryItem.item_code).join(Agency, Agency.id == AgencyQueryItem.agency_id)
                               .where(Agency.city == city)))


def with_bureau_split(session: Session, field_names: set[str], data: dict[str, Any], agency: Agency
                      ) -> dict[str, Any]:
    """000 附表四: only items the city has not yet applied for go to 勞保局, as the records have it, never as typed.

    A form that asks it (``bureau_items``, ``to_bureau``) routes on ``to_bureau``: removals and items another agency
    of the city already holds take effect after 資訊處 without 勞保局's answer.
    """
    if not {BUREAU_ITEMS, TO_BUREAU} <= field_names:
        return data
    held = city_items(session, agency.city)
    bureau = [code for code in data.get("add_items") or () if code not in held]
    return {**data, BUREAU_ITEMS: bureau, TO_BUREAU: bool(bureau)}


def _effective(data: dict[str, Any], now: datetime) -> date:
    return date.fromisoformat(data["effective_date"]) if data.get("effective_date") else local_date(now)


def _set_items(account: WebirAccount, codes: list[str], app: Application, on: date) -> None:
    """The approved items; an item the account already held keeps the date and application that granted it."""
    held = {i.item_code: i for i in account.items}
    account.items = [held.get(c) or AccountItem(item_code=c, granted_on=on, application_id=app.id) for c in codes]


def _grant_querier_role(session: Session, app: Application, account: WebirAccount) -> None:
    """The loop closes: an approved querier account makes its holder a querier in their unit from its date."""
    holdings = session.scalars(select(RoleHolding).where(
        RoleHolding.person_id == app.applicant_id, RoleHolding.role == Role.QUERIER,
        RoleHolding.agency_id == app.agency_id)).all()
    if not any(h.valid_until is None or h.valid_until >= account.effective_on for h in holdings):
        session.add(RoleHolding(person_id=app.applicant_id, role=Role.QUERIER, agency_id=app.agency_id,
                                unit_id=app.unit_id, valid_from=account.effective_on))


def _querier_account(session: Session, app: Application, data: dict[str, Any], now: datetime) -> dict:
    kind = data["request_type"]
    if kind == "remove_departed":  # an agency manager's deletion for someone who left or moved (000 第四點末段)
        account = departed_querier(session, app.agency_id, data.get("departed_querier"))
    else:
        account = active_account(session, app.applicant_id, AccountKind.QUERIER)
    if kind in ("delete", "remove_departed") or (kind == "job_change" and not data.get("items")):
        if account:
            end_account_on(account, app, _effective(data, now), now)
            return {"account": account.id, "status": account.status.value,
                    "valid_until": account.valid_until.isoformat()}
        return {"account": None, "status": "disabled"}
    if account is None:
        account = WebirAccount(person_id=app.applicant_id, agency_id=app.agency_id, kind=AccountKind.QUERIER,
                               egov_account=data["egov_account"], created_at=now)
        session.add(account)
    account.effective_on = _effective(data, now)
    account.last_application_id = app.id
    if data.get("client_ip"):  # 000 附表三's item sheet: the computer the querier connects from
        account.client_ip = data["client_ip"]
    items = _approved_items(data)
    _set_items(account, items, app, account.effective_on)
    session.flush()
    _grant_querier_role(session, app, account)
    return {"account": account.id, "status": "active", "items": items, "client_ip": account.client_ip}


def _approved_items(data: dict[str, Any]) -> list[str]:
    """The items the chain approved: where a step decided each requested item (the city's 附表三 item sheet's
    審核結果, 社會局's 權限管理者, 003 附表1) only the granted ones; where the whole application was decided at
    once (a chain on an earlier version), all it asked."""
    if "granted_items" in data:
        granted = set(data["granted_items"] or ())
        return [c for c in data.get("items") or () if c in granted]
    return data.get("items") or []


def _manager_account(session: Session, app: Application, data: dict[str, Any], now: datetime) -> dict:
    account = active_account(session, app.applicant_id, AccountKind.MANAGER)
    holdings = session.scalars(select(RoleHolding).where(
        RoleHolding.person_id == app.applicant_id, RoleHolding.role == Role.AGENCY_MANAGER,
        RoleHolding.agency_id == app.agency_id, RoleHolding.valid_until.is_(None)))
    if data["request_type"] == "delete":
        if account:
            disable_account(account, app, now)
        for holding in holdings:
            holding.valid_until = local_date(now)
        return {"account": account.id if account else None, "status": "disabled"}
    if account is None:
        account = WebirAccount(person_id=app.applicant_id, agency_id=app.agency_id, kind=AccountKind.MANAGER,
                               egov_account=data["egov_account"], created_at=now)
        session.add(account)
    elif data["request_type"] == "change":  # 004 §5(1) 異動: the same account under the e-government account filed
        account.egov_account = data["egov_account"]
    account.effective_on = _effective(data, now)
    account.last_application_id = app.id
    if not list(holdings):
        session.add(RoleHolding(person_id=app.applicant_id, role=Role.AGENCY_MANAGER,
                                agency_id=app.agency_id, valid_from=account.effective_on))
    session.flush()
    return {"account": account.id, "status": "active"}


# 000 附表四's 設定結果 in two parts, each applied once (``ITEMS_SET`` on the application says which are done, with
# their date): the local part (removals and the items the city already holds) when 資訊處's clerk sets it
# (step form ``set_items``), the bureau part (the items the city lacks, as 勞保局 granted them) when the clerk sets
# 勞保局's answer (``apply_items``). A chain that ends with a part not yet applied (an application still running on
# a diagram without the setting step) applies it at its end, as before.
ITEMS_SET, LOCAL, BUREAU = "items_set", "local", "bureau"


def _bureau_codes(data: dict[str, Any]) -> set[str]:
    """The items that wait for 勞保局; without the split (a pack whose form does not ask it) every item does."""
    return set(data.get(BUREAU_ITEMS) or ()) if TO_BUREAU in data else set(QUERY_ITEMS)


def _part_codes(data: dict[str, Any], part: str) -> tuple[list[str], list[str]]:
    """(added, removed) of one part: what 勞工局 agreed to (and, for the bureau part, 勞保局 too)."""
    bureau = _bureau_codes(data)
    agreed = set(data.get("approved_items") or ())
    if part == BUREAU:
        agreed &= bureau & set(data.get("bureau_approved_items") or ())
    else:
        agreed -= bureau
    return ([c for c in data.get("add_items") or () if c in agreed],
            [c for c in data.get("remove_items") or () if c in agreed])


def items_parts_done(app: Application) -> dict[str, str]:
    return dict((app.data or {}).get(ITEMS_SET) or {})


def apply_items_part(session: Session, app: Application, data: dict[str, Any], now: datetime, part: str,
                     on: str | None = None) -> dict | None:
    """Apply one part of an item change once; None (and nothing changed) when it was applied before."""
    done = items_parts_done(app)
    if part in done:
        return None
    added, removed = _part_codes(data, part)
    have = agency_items(session, app.agency_id)
    for code in added:
        if code not in have:
            session.add(AgencyQueryItem(agency_id=app.agency_id, item_code=code, granted_at=now,
                                        application_id=app.id))
    _remove_items(session, app.agency_id, removed)
    app.agency.client_ip = data["client_ip"]
    day = on or local_date(now).isoformat()
    app.data = {**app.data, ITEMS_SET: {**done, part: day}}
    return {"part": part, "on": day, "added": added, "removed": removed, "client_ip": data["client_ip"]}


def _query_items(session: Session, app: Application, data: dict[str, Any], now: datetime) -> dict | None:
    """At the chain's end: whatever part its steps did not apply yet (none, on the current diagram)."""
    parts = [part for part in (LOCAL, BUREAU) if any(_part_codes(data, part))] or [LOCAL]  # at least the IP
    results = [r for part in parts if (r := apply_items_part(session, app, data, now, part))]
    if not results:
        return None
    return {"added": [c for r in results for c in r["added"]], "removed": [c for r in results for c in r["removed"]],
            "client_ip": data["client_ip"], "parts": [r["part"] for r in results]}


def _remove_items(session: Session, agency_id: int, removed: list[str]) -> None:
    if not removed:
        return
    session.execute(delete(AgencyQueryItem).where(
        AgencyQueryItem.agency_id == agency_id, AgencyQueryItem.item_code.in_(removed)))
    # Least privilege: an item the agency lost is taken from every account of that agency.
    accounts = select(WebirAccount.id).where(WebirAccount.agency_id == agency_id)
    session.execute(delete(AccountItem).where(AccountItem.account_id.in_(accounts),
                                              AccountItem.item_code.in_(removed)))


def _items_review(session: Session, app: Application, data: dict[str, Any], now: datetime) -> dict:
    """001 §9(3): the items 勞保局 terminated leave the agency and its accounts; the others stay needed."""
    asked = (data.get("items_to_terminate") or []) if data.get("request_termination") else []
    terminated = [c for c in asked if c in set(data.get("terminated_items") or ())]
    _remove_items(session, app.agency_id, terminated)
    return {"asked": asked, "terminated": terminated}


EFFECTS: dict[str, Callable[[Session, Application, dict[str, Any], datetime], dict | None]] = {
    "querier_account": _querier_account,
    "manager_account": _manager_account,
    "query_items_change": _query_items,
    "account_review": apply_review,
    "items_review": _items_review,
    "agency_admission": apply_admission,
    "agency_suspension": apply_suspension,
    "role_transfer": apply_transfer,
}


# What a decided step itself changes, by the form's effect and the step's form: 資訊處's setting of an item change.
STEP_EFFECTS: dict[tuple[str, str], tuple[str, str]] = {
    ("query_items_change", "set_items"): (LOCAL, "set_on"),
    ("query_items_change", "apply_items"): (BUREAU, "applied_on"),
}


def apply_step_effects(session: Session, app: Application, step_form: str | None, now: datetime,
                       *layers: dict[str, Any]) -> None:
    """A step that sets part of an approved change applies it when decided (once: a step decided again after a
    send-back finds it applied), recorded with the step's date. ``layers``: the application's, the run's and the
    step's, later ones winning, merged only for such a step (every other approval passes through untouched)."""
    form = FORMS.get(app.form_key)
    named = STEP_EFFECTS.get((form.effect, step_form or "")) if form and form.effect else None
    if named is None:
        return
    part, date_field = named
    data = {k: v for layer in layers for k, v in layer.items()}
    result = apply_items_part(session, app, data, now, part, on=data.get(date_field))
    if result is not None:
        audit.record(session, "accounts_changed", actor=None, subject_type="application", subject_id=app.id,
                     now=now, form=app.form_key, **result)


def apply_effects(session: Session, app: Application, data: dict[str, Any], now: datetime) -> None:
    """Carry out an approved application; the registration form changes nothing but permits the query."""
    form = FORMS.get(app.form_key)
    effect = EFFECTS.get(form.effect) if form and form.effect else None  # named by the pack's form (`effect`)
    if effect is None:
        return
    result = effect(session, app, data, now)
    if result is None:  # every part was applied by its step
        return
    audit.record(session, "accounts_changed", actor=None, subject_type="application", subject_id=app.id,
                 now=now, form=app.form_key, **result)
