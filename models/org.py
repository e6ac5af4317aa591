"""The organisation: agencies, units, people, the roles they hold, and delegates."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, and_, exists, false, or_, select
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from .base import Base, str_enum, utcnow
from .sealing import SealedString, digest


class AgencyKind(enum.StrEnum):
    CENTRAL = "central"  # 總管理機關 (資訊中心 / 資訊處)
    AUTHORITY = "authority"  # 權責管理機關 (勞工局)
    REQUESTING = "requesting"  # 資料需求機關
    BUREAU = "bureau"  # 勞保局


class Role(enum.StrEnum):
    """Role keys as in shared/glossary.md; BPMN lane names use the same words."""

    APPLICANT = "applicant"
    QUERIER = "querier"
    UNIT_HEAD = "unit_head"
    AGENCY_HEAD = "agency_head"
    AGENCY_MANAGER = "agency_manager"
    AUTHORITY_CLERK = "authority_clerk"
    AUTHORITY_SECTION_HEAD = "authority_section_head"
    AUTHORITY_DIRECTOR = "authority_director"
    CENTRAL_CLERK = "central_clerk"
    CENTRAL_SECTION_HEAD = "central_section_head"
    CENTRAL_DIRECTOR = "central_director"
    BUREAU_LIAISON = "bureau_liaison"
    AUDITOR = "auditor"
    IT_UNIT = "it_unit"  # 資訊單位: joins the auditor and 政風 in a joint audit (001 §12(2))
    # 使用單位管理者 (Taipei 002 §3): compares a unit's registration book with the system's counts every month.
    UNIT_MANAGER = "unit_manager"
    # The head of the agency that commissioned the applicant's agency (委託機關, Taipei 002 §4, §5(2)): held by
    # nobody as such; the commissioning agency's agency_head (or delegate) holds the step.
    COMMISSIONING_HEAD = "commissioning_head"
    # 委辦機關審核人員: held in an agency that commissions a district office's queries, for which it reviews and
    # audits them as the authority would (Taoyuan 004 §9); holds the steps of the offices it commissions.
    COMMISSIONER = "commissioner"
    # 權限管理單位主管: the unit head of the unit of the agency's manager, who seals the manager's setting of an
    # account (000 附表三 設定結果 單位主管核章; 003 附表1): held by nobody as such, resolved from the application.
    MANAGER_UNIT_HEAD = "manager_unit_head"
    ADMIN = "admin"


# Where a role is held, relative to an application: in the applicant's unit, in the applicant's agency, or
# city-wide at the one agency of a kind (勞工局, 資訊處, 勞保局).
UNIT_ROLES = frozenset({Role.UNIT_HEAD, Role.UNIT_MANAGER})
AGENCY_ROLES = frozenset({Role.AGENCY_HEAD, Role.AGENCY_MANAGER, Role.AUDITOR})
# Held in an agency and holding its steps, but seeing only the applications it has a step in: the IT unit.
AGENCY_STEP_ROLES = AGENCY_ROLES | {Role.IT_UNIT}
CITY_ROLES = {
    Role.AUTHORITY_CLERK: AgencyKind.AUTHORITY, Role.AUTHORITY_SECTION_HEAD: AgencyKind.AUTHORITY,
    Role.AUTHORITY_DIRECTOR: AgencyKind.AUTHORITY, Role.CENTRAL_CLERK: AgencyKind.CENTRAL,
    Role.CENTRAL_SECTION_HEAD: AgencyKind.CENTRAL, Role.CENTRAL_DIRECTOR: AgencyKind.CENTRAL,
    Role.BUREAU_LIAISON: AgencyKind.BUREAU,
}
# Lanes held in the agency that commissioned the applicant's (委託機關), by the role people hold there: its head
# (Taipei 002 §4, §5(2): consent before a commissioned agency applies) or its commissioner (Taoyuan 004 §9).
COMMISSIONING_ROLES = {Role.COMMISSIONING_HEAD: Role.AGENCY_HEAD, Role.COMMISSIONER: Role.COMMISSIONER}
# 勞保局 is outside the city government: it sees the applications put to it, not every one of the city's.
CITY_WIDE_VIEWERS = frozenset(CITY_ROLES) - {Role.BUREAU_LIAISON}

ROLE_LABELS = {
    Role.APPLICANT: "申請人",
    Role.QUERIER: "資料查詢者",
    Role.UNIT_HEAD: "單位主管",
    Role.AGENCY_HEAD: "機關首長（或授權人員）",
    Role.AGENCY_MANAGER: "機關管理者",
    Role.AUTHORITY_CLERK: "權責管理機關承辦人",
    Role.AUTHORITY_SECTION_HEAD: "權責管理機關單位主管",
    Role.AUTHORITY_DIRECTOR: "權責管理機關首長",
    Role.CENTRAL_CLERK: "總管理機關承辦人",
    Role.CENTRAL_SECTION_HEAD: "總管理機關單位主管",
    Role.CENTRAL_DIRECTOR: "總管理機關首長",
    Role.BUREAU_LIAISON: "勞保局窗口",
    Role.AUDITOR: "查核人員",
    Role.IT_UNIT: "資訊單位人員",
    Role.UNIT_MANAGER: "使用單位管理者",
    Role.COMMISSIONING_HEAD: "委託機關首長（或授權人員）",
    Role.COMMISSIONER: "委辦機關審核人員",
    Role.MANAGER_UNIT_HEAD: "權限管理單位主管",
    Role.ADMIN: "系統管理者",
}


class ValidPeriod:
    """A row valid from ``valid_from`` to ``valid_until``, both days included; an open end never ends.

    The one definition of "valid on a date", in Python and in SQL. The date is the Taipei calendar day
    (``workflows.calendar.local_date``). The mapped class declares both columns.
    """

    @hybrid_method
    def valid_on(self, on: date) -> bool:
        return ((self.valid_from is None or self.valid_from <= on)
                and (self.valid_until is None or on <= self.valid_until))

    @valid_on.expression
    @classmethod
    def _valid_on_expression(cls, on: date):
        return and_(or_(cls.valid_from.is_(None), cls.valid_from <= on),
                    or_(cls.valid_until.is_(None), cls.valid_until >= on))


class AgencyKindRow(Base):
    """One of an agency's kinds: an agency may be several (Taipei's 勞動局 is central manager and authority)."""

    __tablename__ = "agency_kind"

    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[AgencyKind] = mapped_column(str_enum(AgencyKind), primary_key=True)


class Agency(Base):
    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    city: Mapped[str] = mapped_column(String(40), index=True)
    oid: Mapped[str | None] = mapped_column(String(80))
    client_ip: Mapped[str | None] = mapped_column(String(45))
    # The clause of the agency's own rules that allows it one agency manager (權限管理者) only, e.g. 社會局's
    # 003 第七點; None: the city's rules (000, 001) set no number.
    single_manager_rule: Mapped[str | None] = mapped_column(String(120))
    # Admitted by 勞工局 to WebIR use (000 第二點第三款, 001 第二點第三款) with its purposes; its legal bases are
    # rows of its legal-basis table (models.oversight.LegalBasis), which the admission writes;
    # suspended or terminated by 勞保局 after its audit (001 第十二點第六款) until admitted again (第七款).
    admitted_on: Mapped[date | None]
    purposes: Mapped[str | None] = mapped_column(String(2000))
    suspended_on: Mapped[date | None]
    suspension_reason: Mapped[str | None] = mapped_column(String(2000))
    # The agency this one works for on its behalf (委託機關: a district office for 社會局; Taipei 002 §4, Kaohsiung
    # 社會局 003 第五點第三項, Taoyuan 004 §9), which consents before it applies for WebIR use (002 §5(2)), reviews and
    # audits its use, and answers its requests through its responsible unit (003).
    commissioned_by_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))

    units: Mapped[list[Unit]] = relationship(back_populates="agency", order_by="Unit.id")
    commissioned_by: Mapped[Agency | None] = relationship(remote_side=[id])
    kind_rows: Mapped[list[AgencyKindRow]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                          order_by=AgencyKindRow.kind)

    def __init__(self, *, kinds=(), **fields):
        super().__init__(**fields)
        self.kinds = kinds

    @property
    def kinds(self) -> frozenset[AgencyKind]:
        return frozenset(AgencyKind(r.kind) for r in self.kind_rows)

    @kinds.setter
    def kinds(self, kinds) -> None:
        wanted = {AgencyKind(k) for k in kinds}
        self.kind_rows = [r for r in self.kind_rows if r.kind in wanted] + [
            AgencyKindRow(kind=k) for k in sorted(wanted - {r.kind for r in self.kind_rows})]

    @hybrid_method
    def has_kind(self, kind: AgencyKind) -> bool:
        return kind in self.kinds

    @has_kind.expression
    @classmethod
    def _has_kind_expression(cls, kind: AgencyKind):
        return exists(select(AgencyKindRow.agency_id).where(AgencyKindRow.agency_id == cls.id,
                                                            AgencyKindRow.kind == kind))


class Unit(Base):
    """A section (科室) inside an agency; a unit may sit inside another unit of the same agency."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))

    agency: Mapped[Agency] = relationship(back_populates="units")
    parent: Mapped[Unit | None] = relationship(remote_side=[id])


class PersonStatus(enum.StrEnum):
    ACTIVE = "active"  # 在職
    LEFT = "left"  # 離職
    RETIRED = "retired"  # 退休


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    title: Mapped[str | None] = mapped_column(String(60))
    email: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(40))
    # Sealed at rest; found again through its keyed hash (Person.national_id_hash == sealing.digest(number)).
    national_id: Mapped[str | None] = mapped_column("national_id_sealed", SealedString(120))
    national_id_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    # 員工編號 as the personnel office keeps it: how a spreadsheet import finds a person again.
    staff_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    # Why a person is no longer active (離職 / 退休) and since when; active people have no date.
    status: Mapped[PersonStatus] = mapped_column(str_enum(PersonStatus), default=PersonStatus.ACTIVE,
                                                 server_default=PersonStatus.ACTIVE.value)
    status_on: Mapped[date | None]
    is_admin: Mapped[bool] = mapped_column(default=False)
    # Staff of an outsourced vendor (委外廠商): where the rules forbid them WebIR use (Taipei 002 §5(5)), an account
    # filed for them is refused (workflows.settings.contractor_rule).
    is_contractor: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Log-in lockout (資通安全責任等級分級辦法 附表十): failed attempts since the window opened, and until when
    # the account refuses every log-in.
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    failed_logins_since: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    # Sessions and API tokens carry the generation they were issued in; log-out and deactivation bump it,
    # which ends every one of them at once.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    # When the password this product holds was last set: a city with a password period (004 §7: every three
    # months) sends a person whose password is older to change it before anything else. None: not known.
    password_changed_at: Mapped[datetime | None]

    agency: Mapped[Agency] = relationship()
    unit: Mapped[Unit | None] = relationship()
    roles: Mapped[list[RoleHolding]] = relationship(back_populates="person", foreign_keys="RoleHolding.person_id")

    @validates("national_id")
    def _hash_national_id(self, _key: str, value: str | None) -> str | None:
        self.national_id_hash = digest(value) if value else None
        return value

    def set_password(self, password: str, changed_at: datetime | None = None) -> None:
        self.password_hash = generate_password_hash(password)
        self.password_changed_at = changed_at

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def holds(self, role: str, on: date) -> bool:
        """Whether this person holds ``role`` on ``on``, a Taipei calendar date (never the UTC one)."""
        return any(h.role == role and h.valid_on(on) for h in self.roles)

    # Flask-Login's user protocol, written out so models need not import Flask.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """What the session keeps: the id and the generation, so a bumped generation ends the session."""
        return f"{self.id}:{self.session_generation}"


class RoleHolding(ValidPeriod, Base):
    """A person holds a role within an agency (and for unit heads, a unit)."""

    __tablename__ = "role_holding"
    __table_args__ = (Index("ix_role_holding_role_agency", "role", "agency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]

    person: Mapped[Person] = relationship(back_populates="roles", foreign_keys=[person_id])
    agency: Mapped[Agency] = relationship()
    unit: Mapped[Unit | None] = relationship()


class Delegation(ValidPeriod, Base):
    """A delegate (授權人員) may sign in place of the principal for one role."""

    __tablename__ = "delegation"
    __table_args__ = (UniqueConstraint("principal_id", "delegate_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    principal: Mapped[Person] = relationship(foreign_keys=[principal_id])
    delegate: Mapped[Person] = relationship(foreign_keys=[delegate_id])
