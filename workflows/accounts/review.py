"""The yearly account permission review (001 §6(6)): list, flag and decide every querier account of an agency.

The agency manager sees each active querier account with its items, its last use and what looks wrong
(duplicate, long idle, job changed, left or retired), and decides keep / narrow / delete with a reason.
The completed review, its sign-off history and the per-account audit events are the record kept five years.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from models import (
    OPEN_STATES,
    QUERY_ITEMS,
    AccountKind,
    AccountStatus,
    Application,
    ApplicationState,
    Person,
    QueryLog,
    WebirAccount,
)

from ..calendar import local_date, roc_date_text
from ..forms import Field
from ..settings import SETTINGS
from .records import ACCOUNT_DECISIONS, change_account

FLAGS = {
    "duplicate": "重複帳號",
    "idle": "長期閒置",
    "job_changed": "職務異動",
    "inactive": "離職或退休",
}
RECENT_TRANSFER_DAYS = 365  # a completed role transfer still flags the account for a year


@dataclass(frozen=True)
class ReviewedAccount:
    """One querier account as the review shows it."""

    account_id: int
    username: str
    name: str
    unit: str | None
    egov_account: str
    items: tuple[str, ...]
    last_used: date | None
    flags: tuple[str, ...]

    @property
    def prefix(self) -> str:
        return f"account_{self.account_id}"


def last_uses(session: Session, person_ids: list[int]) -> dict[int, date]:
    """The date of each person's latest query in the imported WebIR logs (real use, 001 §9(2)); for a person
    with no logged query, that of their latest approved registration (the last time they might have queried)."""
    rows = session.execute(select(Application.applicant_id, func.max(Application.closed_at)).where(
        Application.form_key == "query_registration", Application.state == ApplicationState.COMPLETED,
        Application.applicant_id.in_(person_ids)).group_by(Application.applicant_id))
    uses = {person_id: local_date(closed) for person_id, closed in rows if closed is not None}
    logged = session.execute(select(QueryLog.person_id, func.max(QueryLog.queried_at)).where(
        QueryLog.person_id.in_(person_ids)).group_by(QueryLog.person_id))
    return {**uses, **{person_id: local_date(at) for person_id, at in logged if at is not None}}


def transferred_people(session: Session, agency_id: int, now: datetime) -> set[str]:
    """Usernames with a pending role transfer, or one completed within the last year."""
    since = now - timedelta(days=RECENT_TRANSFER_DAYS)
    apps = session.scalars(select(Application).where(
        Application.form_key == "role_transfer", Application.agency_id == agency_id,
        Application.state.in_((*OPEN_STATES, ApplicationState.COMPLETED))))
    return {a.data.get("person") for a in apps if a.is_open or (a.closed_at and a.closed_at >= since)}


def _duplicates(session: Session, accounts: list[WebirAccount]) -> set[int]:
    """Accounts whose person, or national ID, holds more than one active querier account anywhere."""
    # ID numbers are sealed; equal numbers have equal keyed hashes, so the hash is what is compared.
    ids = {a.person.national_id_hash for a in accounts if a.person.national_id_hash}
    everyone = session.execute(select(WebirAccount.person_id, Person.national_id_hash).join(Person).where(
        WebirAccount.kind == AccountKind.QUERIER, WebirAccount.status == AccountStatus.ACTIVE,
        (WebirAccount.person_id.in_([a.person_id for a in accounts])) | Person.national_id_hash.in_(ids))).all()
    per_person = Counter(person_id for person_id, _ in everyone)
    per_id = Counter(id_hash for _, id_hash in everyone if id_hash)
    return {a.id for a in accounts
            if per_person[a.person_id] > 1 or (a.person.national_id_hash and per_id[a.person.national_id_hash] > 1)}


def list_reviewed_accounts(session: Session, agency_id: int, now: datetime) -> list[ReviewedAccount]:
    """Every active querier account of the agency, with its last use and flags, as of ``now``."""
    accounts = list(session.scalars(select(WebirAccount).where(
        WebirAccount.agency_id == agency_id, WebirAccount.kind == AccountKind.QUERIER,
        WebirAccount.status == AccountStatus.ACTIVE)
        .options(joinedload(WebirAccount.person).joinedload(Person.unit)).order_by(WebirAccount.id)).unique())
    uses = last_uses(session, [a.person_id for a in accounts])
    transferred = transferred_people(session, agency_id, now)
    duplicates = _duplicates(session, accounts)
    idle_before = local_date(now) - timedelta(days=SETTINGS.idle_days)
    reviewed = []
    for account in accounts:
        person, used = account.person, uses.get(account.person_id)
        since = used or account.effective_on or local_date(account.created_at)
        flags = {"duplicate": account.id in duplicates, "idle": since < idle_before,
                 "job_changed": person.username in transferred, "inactive": not person.active}
        reviewed.append(ReviewedAccount(account.id, person.username, person.name,
                                        person.unit.name if person.unit else None, account.egov_account,
                                        tuple(account.item_codes), used, tuple(k for k in FLAGS if flags[k])))
    return reviewed


def _describe(account: ReviewedAccount) -> str:
    items = "、".join(account.items) or "（無）"
    used = roc_date_text(account.last_used) if account.last_used else "從未使用"
    flags = "、".join(FLAGS[f] for f in account.flags) or "無"
    return f"查調項目：{items}；最後使用：{used}；提示：{flags}"


def review_fields(accounts: list[ReviewedAccount]) -> tuple[Field, ...]:
    """Three fields per account: the decision, the items kept when narrowing, the reason."""
    fields: list[Field] = []
    for a in accounts:
        who = f"{a.name}（{a.username}，{a.unit or '未分科室'}，WebIR 帳號 {a.egov_account}）"
        fields += [
            Field(f"{a.prefix}_decision", f"{who}：清查結果", "choice", required=True,
                  choices=tuple(ACCOUNT_DECISIONS.items()), help=_describe(a)),
            Field(f"{a.prefix}_items", f"{a.name}：縮減後保留之查調項目", "multichoice", required=True,
                  choices=tuple((c, f"{c} {QUERY_ITEMS.get(c, '')}") for c in a.items),
                  required_when=(f"{a.prefix}_decision", ("narrow",))),
            Field(f"{a.prefix}_reason", f"{a.name}：縮減或刪除理由", "string", required=True,
                  required_when=(f"{a.prefix}_decision", ("narrow", "delete"))),
        ]
    return tuple(fields)


def review_check(accounts: list[ReviewedAccount]) -> Callable[[dict[str, Any]], dict[str, str]]:
    """Narrowing must drop at least one item and keep at least one (dropping all is a delete)."""
    def check(data: dict[str, Any]) -> dict[str, str]:
        errors = {}
        for a in accounts:
            if data.get(f"{a.prefix}_decision") != "narrow":
                continue
            kept = set(data.get(f"{a.prefix}_items") or ())
            if kept and kept >= set(a.items):
                errors[f"{a.prefix}_items"] = f"{a.name}：縮減時請至少取消一個查調項目；不需調整請選「保留」"
        return errors
    return check


def review_record(accounts: list[ReviewedAccount]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Fold the per-account fields into one list: what was seen and what was decided, for the record."""
    def record(data: dict[str, Any]) -> dict[str, Any]:
        decisions = []
        for a in accounts:
            decision = data[f"{a.prefix}_decision"]
            decisions.append({
                "account": a.account_id, "username": a.username, "name": a.name, "egov_account": a.egov_account,
                "items": list(a.items), "last_used": a.last_used.isoformat() if a.last_used else None,
                "flags": list(a.flags), "decision": decision,
                "new_items": (data.get(f"{a.prefix}_items") or []) if decision == "narrow" else [],
                "reason": data.get(f"{a.prefix}_reason")})
        rest = {k: v for k, v in data.items() if not k.startswith("account_")}
        return {**rest, "account_decisions": decisions}
    return record


def describe_decisions(decisions: list[dict[str, Any]]) -> list[str]:
    """One readable line per reviewed account, for the application page."""
    lines = []
    for d in decisions:
        outcome = ACCOUNT_DECISIONS.get(d["decision"], d["decision"])
        if d["decision"] == "narrow":
            outcome += f"為 {'、'.join(d['new_items'])}"
        flags = "、".join(FLAGS.get(f, f) for f in d.get("flags") or ())
        used = roc_date_text(date.fromisoformat(d["last_used"])) if d.get("last_used") else "從未使用"
        line = f"{d['name']}（{d['username']}）原項目 {'、'.join(d['items']) or '無'}，最後使用 {used}"
        line += f"，提示 {flags}" if flags else ""
        line += f"：{outcome}" + (f"（理由：{d['reason']}）" if d.get("reason") else "")
        lines.append(line)
    return lines


def apply_review(session: Session, app: Application, data: dict[str, Any], now: datetime) -> dict:
    """Carry out the review's decisions once the agency head has acknowledged it."""
    results = []
    for d in data.get("account_decisions") or ():
        account = session.get(WebirAccount, d["account"])
        if account is not None:
            results.append(change_account(session, app, account, d["decision"], d.get("new_items") or [],
                                          d.get("reason"), now))
    counts = Counter(r["decision"] for r in results)
    return {"reviewed": len(results), "kept": counts["keep"], "narrowed": counts["narrow"],
            "disabled": counts["delete"]}
