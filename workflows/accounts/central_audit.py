"""資訊處's own yearly audit of the city's WebIR accounts (001 第三點第一款第三目「稽核勞保WebIR帳號」).

The duty ``central_account_audit`` starts one instance for the central agency; its clerk's step lists every active
WebIR account of every agency of the city, manager and querier, as the records have it when the step is shown and
decided, and marks each 保留 or 應予刪除 with the reason; the section head approves. An account marked for removal is
recorded as a finding of the audit (``account_marks`` on the step, kept with the sign-off history): the account
itself changes only through its own deletion path (the agency's manager, 000 §3(4)1, or 資訊處 for a manager
account, 000 §3(1)1), which this audit does not start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AccountKind, AccountStatus, Agency, Person, WebirAccount

from ..forms import Field

STEP = "central_account_audit"
MARKS = {"keep": "保留", "remove": "應予刪除"}
KINDS = {AccountKind.MANAGER: "機關管理者", AccountKind.QUERIER: "資料查詢者"}


@dataclass(frozen=True)
class AuditedAccount:
    account_id: int
    agency: str
    kind: str
    username: str
    name: str
    egov_account: str
    items: tuple[str, ...]

    @property
    def prefix(self) -> str:
        return f"account_{self.account_id}"


def city_accounts(session: Session, city: str) -> list[AuditedAccount]:
    """Every active WebIR account of every agency of the city, agency by agency."""
    rows = session.execute(select(WebirAccount, Agency.name, Person.username, Person.name)
                           .join(Agency, Agency.id == WebirAccount.agency_id)
                           .join(Person, Person.id == WebirAccount.person_id)
                           .where(Agency.city == city, WebirAccount.status == AccountStatus.ACTIVE)
                           .order_by(Agency.id, WebirAccount.kind, WebirAccount.id)).all()
    return [AuditedAccount(a.id, agency, KINDS.get(a.kind, str(a.kind)), username, name, a.egov_account,
                           tuple(a.item_codes)) for a, agency, username, name in rows]


def audit_fields(accounts: list[AuditedAccount]) -> tuple[Field, ...]:
    """Two fields per account: 保留 or 應予刪除, and the reason (asked for a removal)."""
    fields: list[Field] = []
    for a in accounts:
        who = f"{a.agency} {a.kind} {a.name}（{a.username}，WebIR 帳號 {a.egov_account}）"
        fields += [
            Field(f"{a.prefix}_mark", f"{who}：稽核結果", "choice", required=True, choices=tuple(MARKS.items()),
                  help=f"查調項目：{'、'.join(a.items) or '（無）'}"),
            Field(f"{a.prefix}_reason", f"{a.name}：應予刪除之理由", "string", required=True,
                  required_when=(f"{a.prefix}_mark", ("remove",))),
        ]
    return tuple(fields)


def audit_record(accounts: list[AuditedAccount]):
    """Fold the per-account fields into one list, the audit's findings among them (``remove``)."""
    def record(data: dict[str, Any]) -> dict[str, Any]:
        marks = [{"account": a.account_id, "agency": a.agency, "kind": a.kind, "username": a.username,
                  "name": a.name, "egov_account": a.egov_account, "items": list(a.items),
                  "mark": data[f"{a.prefix}_mark"], "reason": data.get(f"{a.prefix}_reason")} for a in accounts]
        rest = {k: v for k, v in data.items() if not k.startswith("account_")}
        return {**rest, "account_marks": marks,
                "accounts_to_remove": sum(m["mark"] == "remove" for m in marks)}
    return record
