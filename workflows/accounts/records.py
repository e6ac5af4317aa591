"""WebIR account records: find, disable, and the keep / narrow / delete decision with its audit event."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AccountKind, AccountStatus, Agency, Application, Person, Role, WebirAccount

from .. import audit
from ..calendar import local_date

# The role a WebIR account of each kind gives its holder while it lasts.
ACCOUNT_ROLES = {AccountKind.QUERIER: Role.QUERIER, AccountKind.MANAGER: Role.AGENCY_MANAGER}


def active_account(session: Session, person_id: int, kind: AccountKind) -> WebirAccount | None:
    return session.scalar(select(WebirAccount).where(
        WebirAccount.person_id == person_id, WebirAccount.kind == kind,
        WebirAccount.status == AccountStatus.ACTIVE))


def disable_account(account: WebirAccount, app: Application, now: datetime) -> None:
    account.status = AccountStatus.DISABLED
    account.disabled_at = now
    account.last_application_id = app.id
    if account.kind == AccountKind.QUERIER:
        end_role(account, local_date(now) - timedelta(days=1))


def end_role(account: WebirAccount, last_day: date) -> None:
    """The role this account gave ends after ``last_day`` (a holding that had not begun by then never begins)."""
    role = ACCOUNT_ROLES[account.kind]
    for holding in account.person.roles:
        if (holding.role == role and holding.agency_id == account.agency_id
                and (holding.valid_until is None or holding.valid_until > last_day)):
            holding.valid_until = last_day


def end_account_on(account: WebirAccount, app: Application, effective: date, now: datetime) -> None:
    """A deletion or job change: the account and its role last until the day before ``effective``.

    Dated today or earlier it stops at once; dated later it stays usable until then and
    ``disable_ended_accounts`` stops it on the date.
    """
    account.valid_until = effective - timedelta(days=1)
    account.last_application_id = app.id
    end_role(account, account.valid_until)
    if effective <= local_date(now):
        account.status = AccountStatus.DISABLED
        account.disabled_at = now


def disable_ended_accounts(session: Session, now: datetime) -> list[int]:
    """Stop every account whose last day has passed (the daily job); one audit event each."""
    accounts = session.scalars(select(WebirAccount).where(
        WebirAccount.status == AccountStatus.ACTIVE, WebirAccount.valid_until < local_date(now))
        .order_by(WebirAccount.id)).all()
    for account in accounts:
        account.status = AccountStatus.DISABLED
        account.disabled_at = now
        audit.record(session, "account_disabled", actor=None, subject_type="webir_account", subject_id=account.id,
                     now=now, application=account.last_application_id, person=account.person.username,
                     decision="delete", reason=f"{account.valid_until.isoformat()} 後停用（依核准之生效日期）")
    session.commit()
    return [a.id for a in accounts]


ACCOUNT_DECISIONS = {"keep": "保留", "narrow": "縮減查調項目", "delete": "刪除（停用）帳號"}
_DECISION_EVENTS = {"keep": "account_kept", "narrow": "account_narrowed", "delete": "account_disabled"}


def change_account(session: Session, app: Application, account: WebirAccount, decision: str,
                   items: list[str], reason: str | None, now: datetime) -> dict:
    """Keep, narrow or disable one account as a review or a role transfer decided; one audit event each.

    Narrowing never widens: only items the account still holds are kept.
    """
    before = account.item_codes
    event = _DECISION_EVENTS[decision]
    if account.status != AccountStatus.ACTIVE:
        event = "account_skipped"  # disabled meanwhile by another application: nothing left to change
    elif decision == "narrow":
        account.items = [i for i in account.items if i.item_code in set(items)]
        account.last_application_id = app.id
    elif decision == "delete":
        disable_account(account, app, now)
    after = account.item_codes if account.status == AccountStatus.ACTIVE else []
    audit.record(session, event, actor=None, subject_type="webir_account", subject_id=account.id, now=now,
                 application=app.id, form=app.form_key, person=account.person.username, decision=decision,
                 reason=reason, items_before=before, items_after=after)
    return {"account": account.id, "decision": decision, "event": event, "items": after}


def manager_limit_errors(session: Session, agency: Agency, applicant_id: int, succeeds: str | None
                         ) -> dict[str, str]:
    """A second agency manager where the agency's rules allow one (003 第七點), unless it succeeds the one there.

    The successor's account comes first and the old one stops on the transfer date (001 第六點第四款), so a
    successor naming the current manager is let through; anyone else is refused with the agency's clause.
    """
    others = list(session.scalars(select(WebirAccount).where(
        WebirAccount.agency_id == agency.id, WebirAccount.kind == AccountKind.MANAGER,
        WebirAccount.status == AccountStatus.ACTIVE, WebirAccount.person_id != applicant_id)
        .order_by(WebirAccount.id)))
    usernames = [a.person.username for a in others]
    if succeeds and succeeds not in usernames:
        return {"succeeds": f"「{succeeds}」不是本機關現任的機關管理者"}
    if not agency.single_manager_rule or not others or usernames == [succeeds]:
        return {}
    names = "、".join(a.person.name for a in others)
    return {"request_type": f"依{agency.single_manager_rule}，本機關僅設機關管理者（權限管理者）一名，現任為{names}；"
                            "接任者請於「接任之現任機關管理者帳號」填寫現任者帳號，並由機關首長提出職務異動，"
                            "於生效日停止原管理者帳號（001 第六點第四款）"}


DEPARTED_CLAUSE = "000 第四點末段；001 第六點第五款"


def departed_querier(session: Session, agency_id: int, username: str | None) -> WebirAccount | None:
    """The active querier account of the person ``username`` names in this agency (000 附表三 刪除資料查詢者，帳號)."""
    if not username:
        return None
    return session.scalar(select(WebirAccount).join(Person, Person.id == WebirAccount.person_id).where(
        Person.username == username, WebirAccount.agency_id == agency_id, WebirAccount.kind == AccountKind.QUERIER,
        WebirAccount.status == AccountStatus.ACTIVE))


def departed_querier_errors(session: Session, username: str, actor: Person) -> dict[str, str]:
    """An agency manager deletes the querier account of someone of their agency who left or moved (000 第四點末段:
    deleted before the job changes; 001 第六點第五款: the manager deletes it); anyone else, or another agency's
    querier, is refused with the clause. One's own account goes through 刪除資料查詢者."""
    if active_account(session, actor.id, AccountKind.MANAGER) is None:
        return {"request_type": f"僅機關管理者得為本機關離職或調職人員申請刪除資料查詢者帳號（{DEPARTED_CLAUSE}）"}
    if username == actor.username:
        return {"departed_querier": "刪除本人帳號請選「刪除資料查詢者」"}
    if departed_querier(session, actor.agency_id, username) is None:
        return {"departed_querier": f"「{username}」不是本機關有效的資料查詢者帳號；機關管理者僅得刪除本機關人員之帳號"
                                    f"（{DEPARTED_CLAUSE}）"}
    return {}
