"""WebIR accounts and the query items they and their agencies may use."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, str_enum, utcnow
from .org import Agency, Person

# 勞保 WebIR 查調服務項目 (000_847d99bbd62f1c61.txt, 查調服務項目申請表); codes are the keys.
QUERY_ITEMS: dict[str, str] = {
    "C0101": "被保險人投保資料",
    "C0201": "單位被保險人名冊",
    "C0301": "勞保身心障礙政府補助費(以保險證號+保費年月查詢)",
    "C0302": "勞保身心障礙政府補助費(以身分證號查詢)",
    "C0401": "勞保投保單位基本資料(以保險證號查詢)",
    "C0402": "勞保投保單位基本資料(以營利事業統一編號查詢)",
    "F0101": "投保單位應繳保費資料",
    "B0101": "給付簡要資料",
    "B0201": "給付明細資料",
    "B0301": "失業給付資格",
    "P0101": "勞退提繳單位基本資料(以提繳單位編號查詢)",
    "P0102": "勞退提繳單位基本資料(以營利事業統一編號查詢)",
    "P0201": "勞退提繳單位應繳退休金資料",
    "P0301": "勞工提繳退休金異動資料",
    "N0101": "國民年金給付資料",
    "T0101": "老年農民福利津貼發放查詢",
    "F0201": "勞保被保險人各月份自負額查詢",
    "B0401": "勞保年金給付資料查詢",
    "P0401": "勞退請領資料查詢",
    "P0501": "勞工退休金計算名冊查詢",
}


class AccountKind(enum.StrEnum):
    MANAGER = "manager"
    QUERIER = "querier"


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class WebirAccount(Base):
    """A WebIR account as approved through the chain; never handed to another person."""

    __tablename__ = "webir_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    kind: Mapped[AccountKind] = mapped_column(str_enum(AccountKind))
    egov_account: Mapped[str] = mapped_column(String(80))
    status: Mapped[AccountStatus] = mapped_column(
        str_enum(AccountStatus), default=AccountStatus.ACTIVE
    )
    effective_on: Mapped[date | None]
    # The last day a deletion or job change leaves the account usable (its effective date minus one day).
    valid_until: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]
    last_application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"))
    # The computer a querier queries from (000 附表三's item sheet: 連線勞保查詢系統之電腦合法 IP), as last approved.
    client_ip: Mapped[str | None] = mapped_column(String(45))

    person: Mapped[Person] = relationship()
    agency: Mapped[Agency] = relationship()
    items: Mapped[list[AccountItem]] = relationship(cascade="all, delete-orphan", order_by="AccountItem.item_code")

    @property
    def item_codes(self) -> list[str]:
        return [i.item_code for i in self.items]


class AccountItem(Base):
    __tablename__ = "account_item"

    account_id: Mapped[int] = mapped_column(ForeignKey("webir_account.id"), primary_key=True)
    item_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    granted_on: Mapped[date | None]  # the effective date of the application that granted it
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"))


class AgencyQueryItem(Base):
    """A query item an agency is permitted (勞工局 and 勞保局 agreed)."""

    __tablename__ = "agency_query_item"
    __table_args__ = (UniqueConstraint("agency_id", "item_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    item_code: Mapped[str] = mapped_column(String(10))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"))
