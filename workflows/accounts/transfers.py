"""Role transfer (職務異動, 001 §6(4)(5), §7): accounts follow a person's job change, never the person's desk.

A querier's account is narrowed or deleted by the agency manager before the date. An agency manager's
successor must hold a manager account before the transfer is filed; on the date the old manager's account
stops, their manager role ends and their open tasks move to the successor. A change of the central
manager's liaison, staff or section head is notified to 勞保局 within seven days.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    AccountKind,
    AgencyKind,
    Application,
    HistoryEntry,
    HumanTask,
    Person,
    Role,
    RoleHolding,
    TaskCandidate,
    TaskState,
)

from .. import audit
from ..forms import Field, item_choices
from ..notify import notify
from .records import active_account, change_account, disable_account

KINDS = {"querier": "資料查詢者", "agency_manager": "機關管理者",
         "central_staff": "總管理機關聯繫窗口、專責人員或單位主管"}
SUCCESSOR_NEEDS_ACCOUNT = ("接任者尚未取得有效的機關管理者帳號：請接任者先提出「機關管理者帳號申請」，"
                           "經核准設定後再辦理原管理者的職務異動（001 第六點第四款）")


def find_person(session: Session, username: str | None) -> Person | None:
    return session.scalar(select(Person).where(Person.username == username)) if username else None


def _pending_transfer(session: Session, username: str, other_than: int | None) -> int | None:
    query = select(Application).where(
        Application.form_key == "role_transfer",
        Application.is_open)
    if other_than is not None:  # the transfer being corrected is not another one
        query = query.where(Application.id != other_than)
    return next((a.id for a in session.scalars(query) if a.data.get("person") == username), None)


def transfer_errors(session: Session, data: dict[str, Any], actor: Person,
                    amending: int | None = None) -> dict[str, str]:
    """What the records must show before a transfer may be filed (or ``amending`` resubmitted); {field: message}."""
    person = find_person(session, data["person"])
    if person is None or person.agency_id != actor.agency_id:
        return {"person": "查無此人員，或此人員不屬於本機關"}
    if pending := _pending_transfer(session, person.username, amending):
        return {"person": f"此人員已有辦理中的職務異動（案號 {pending}），請先完成或撤回"}
    kind = data["kind"]
    if kind == "querier" and active_account(session, person.id, AccountKind.QUERIER) is None:
        return {"person": "此人員沒有有效的資料查詢者帳號，無須辦理帳號異動"}
    if kind == "agency_manager":
        return _manager_errors(session, person, find_person(session, data.get("successor")), actor)
    if kind == "central_staff" and not actor.agency.has_kind(AgencyKind.CENTRAL):
        return {"kind": "此類別只適用總管理機關（資訊處）的聯繫窗口、專責人員及單位主管"}
    return {}


def _manager_errors(session: Session, person: Person, successor: Person | None, actor: Person) -> dict[str, str]:
    if active_account(session, person.id, AccountKind.MANAGER) is None:
        return {"person": "此人員沒有有效的機關管理者帳號"}
    if successor is None or successor.agency_id != actor.agency_id:
        return {"successor": "查無接任者，或接任者不屬於本機關"}
    if successor.id == person.id:
        return {"successor": "接任者不可為異動人員本人"}
    account = active_account(session, successor.id, AccountKind.MANAGER)
    if account is None or account.agency_id != actor.agency_id:
        return {"successor": SUCCESSOR_NEEDS_ACCOUNT}
    return {}


# ---------------------------------------------------------------- the querier's account, before the date

def account_step_fields(session: Session, app: Application, fields: tuple[Field, ...]) -> tuple[Field, ...]:
    """Bind the items to keep to the transferred person's current items."""
    person = find_person(session, app.data.get("person"))
    account = active_account(session, person.id, AccountKind.QUERIER) if person else None
    codes = account.item_codes if account else []
    return tuple(replace(f, choices=item_choices(codes)) if f.name == "account_items" else f for f in fields)


def account_step_check(fields: tuple[Field, ...]):
    """Narrowing keeps some items, not all of them."""
    held = {c for f in fields if f.name == "account_items" for c, _ in f.choices}

    def check(data: dict[str, Any]) -> dict[str, str]:
        if data.get("account_decision") == "narrow" and set(data.get("account_items") or ()) >= held:
            return {"account_items": "縮減時請至少取消一個查調項目；若全部不再需要，請選「刪除（停用）帳號」"}
        return {}
    return check


def apply_transfer(session: Session, app: Application, data: dict[str, Any], now: datetime) -> dict:
    """On completion: a querier's account is narrowed or disabled; the other kinds only record."""
    kind = data["kind"]
    if kind == "agency_manager":
        return {"kind": kind, "successor": data.get("successor")}
    if kind == "central_staff":
        return {"kind": kind, "bureau_notified_on": data.get("notified_on")}
    person = find_person(session, data["person"])
    account = active_account(session, person.id, AccountKind.QUERIER) if person else None
    if account is None:
        return {"kind": kind, "account": None}
    reason = f"職務異動（新職務：{data.get('new_position')}）：{data.get('reason')}"
    return {"kind": kind, **change_account(session, app, account, data["account_decision"],
                                           data.get("account_items") or [], reason, now)}


# ---------------------------------------------------------------- the agency manager's date

def hand_over_manager(session: Session, app: Application, now: datetime) -> dict:
    """The transfer date has come: stop the old manager's account and role, move their open tasks."""
    data = app.data
    old, successor = find_person(session, data["person"]), find_person(session, data["successor"])
    effective = date.fromisoformat(data["effective_date"])
    account = active_account(session, old.id, AccountKind.MANAGER)
    if account is not None:
        disable_account(account, app, now)
        audit.record(session, "account_disabled", actor=None, subject_type="webir_account", subject_id=account.id,
                     now=now, application=app.id, form=app.form_key, person=old.username, decision="delete",
                     reason="機關管理者職務異動，於生效日停止原管理者帳號")
    _end_manager_role(session, old, successor, app.agency_id, effective)
    moved = _move_open_tasks(session, app, old, successor, now)
    _tell(session, app, old, successor, len(moved), now)
    return {"account": account.id if account else None, "tasks_moved": moved}


def _end_manager_role(session: Session, old: Person, successor: Person, agency_id: int, effective: date) -> None:
    holdings = session.scalars(select(RoleHolding).where(
        RoleHolding.role == Role.AGENCY_MANAGER, RoleHolding.agency_id == agency_id,
        RoleHolding.person_id.in_((old.id, successor.id))))
    successor_holds = False
    for holding in holdings:
        if holding.person_id == old.id and (holding.valid_until is None or holding.valid_until >= effective):
            holding.valid_until = effective - timedelta(days=1)
        elif holding.person_id == successor.id and holding.valid_on(effective):
            successor_holds = True
    if not successor_holds:  # an account set up outside the chain: the role follows the account
        session.add(RoleHolding(person_id=successor.id, role=Role.AGENCY_MANAGER, agency_id=agency_id,
                                valid_from=effective))


def _move_open_tasks(session: Session, app: Application, old: Person, successor: Person,
                     now: datetime) -> list[int]:
    """The old manager's open manager tasks in this agency go to the successor (no account changes hands)."""
    # Locked: a task completed meanwhile by another worker is re-read as closed and left alone.
    tasks = session.scalars(select(HumanTask).join(TaskCandidate).join(Application).where(
        TaskCandidate.person_id == old.id, HumanTask.state == TaskState.OPEN,
        HumanTask.role == Role.AGENCY_MANAGER, Application.agency_id == app.agency_id)
        .order_by(HumanTask.id).with_for_update(of=HumanTask)).all()
    for task in tasks:
        holders = {c.person_id: c for c in task.candidates}
        task.candidates.remove(holders[old.id])
        if successor.id not in holders:
            task.candidates.append(TaskCandidate.for_task(task, person_id=successor.id, is_open=True, created_at=now))
        note = f"職務異動（案號 {app.id}）：由 {old.name} 改由 {successor.name} 辦理"
        session.add(HistoryEntry(application_id=task.application_id, step=task.step, step_name=task.name,
                                 role=task.role, actor_id=None, decision="reassign", opinion=note,
                                 data={"from": old.username, "to": successor.username, "role_transfer": app.id},
                                 created_at=now))
        audit.record(session, "task_reassigned", actor=None, subject_type="human_task", subject_id=task.id,
                     now=now, application=task.application_id, role_transfer=app.id, from_person=old.username,
                     to_person=successor.username)
    return [t.id for t in tasks]


def _tell(session: Session, app: Application, old: Person, successor: Person, moved: int, now: datetime) -> None:
    agency = app.agency.name
    notify(session, [successor], kind="transfer", subject=f"【職務異動】您已接任{agency}機關管理者",
           body=f"{old.name}的機關管理者職務自今日起由您承接，原由其辦理的 {moved} 件待辦已移轉給您。",
           now=now, application=app, link=f"/applications/{app.id}")
    notify(session, [old], kind="transfer", subject="【職務異動】您的機關管理者帳號已停用",
           body=f"依職務異動（案號 {app.id}），您在{agency}的機關管理者帳號自今日起停用，業務由{successor.name}承接。"
                "帳號不得交接他人。",
           now=now, application=app, link=f"/applications/{app.id}")


TIMER_ACTIONS = {"manager_handover": hand_over_manager}
