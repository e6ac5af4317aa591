"""SQLAlchemy models: tables, relationships and small predicates; no Flask."""

from .accounts import QUERY_ITEMS, AccountItem, AccountKind, AccountStatus, AgencyQueryItem, WebirAccount
from .attachment import Attachment
from .base import Base, utcnow
from .incidents import Incident
from .notify import Notification, ScheduleRun
from .org import (
    AGENCY_ROLES,
    AGENCY_STEP_ROLES,
    CITY_ROLES,
    CITY_WIDE_VIEWERS,
    COMMISSIONING_ROLES,
    ROLE_LABELS,
    UNIT_ROLES,
    Agency,
    AgencyKind,
    AgencyKindRow,
    Delegation,
    Person,
    PersonStatus,
    Role,
    RoleHolding,
    Unit,
)
from .oversight import (
    FLAG_NAMES,
    FlagAction,
    ImportState,
    LegalBasis,
    LogFlag,
    QueryLog,
    QueryLogFlagNote,
    QueryLogImport,
    QueryLogStage,
    SamplingDraw,
    SamplingItem,
    ViolationCase,
    flag_names,
)
from .personal import Delivery, PersonSetting, Substitution
from .process import (
    AUDIT_CHAIN_ID,
    AUDIT_GENESIS,
    ID_FIELDS,
    OPEN_STATES,
    Application,
    ApplicationState,
    AuditChain,
    AuditEvent,
    DefinitionVersion,
    DiagramDraft,
    FormChain,
    HistoryEntry,
    HumanTask,
    ProcessDefinition,
    RegistrationRow,
    TaskCandidate,
    TaskState,
    audit_hash,
)
from .retention import DestructionRecord, LegalHold
from .reveal import NationalIdReveal

__all__ = [
    "AGENCY_ROLES", "AGENCY_STEP_ROLES", "AUDIT_CHAIN_ID",
    "AUDIT_GENESIS", "CITY_ROLES", "CITY_WIDE_VIEWERS", "COMMISSIONING_ROLES", "ID_FIELDS", "OPEN_STATES",
    "UNIT_ROLES", "QUERY_ITEMS", "ROLE_LABELS", "AccountItem", "AccountKind", "AccountStatus", "Agency", "AgencyKind",
    "AgencyKindRow", "PersonStatus",
    "AgencyQueryItem", "Application", "ApplicationState", "Attachment", "AuditChain", "AuditEvent", "Base",
    "Delegation",
    "DefinitionVersion", "DiagramDraft", "FormChain", "HistoryEntry", "HumanTask", "Incident", "NationalIdReveal",
    "Notification", "Person", "PersonSetting", "ProcessDefinition", "RegistrationRow",
    "Delivery", "Substitution", "Role", "RoleHolding",
    "ScheduleRun",
    "TaskCandidate", "TaskState", "Unit", "WebirAccount", "audit_hash", "utcnow",
    "FLAG_NAMES", "FlagAction", "LegalBasis", "LogFlag", "QueryLog", "QueryLogFlagNote", "QueryLogImport",
    "QueryLogStage", "ImportState",
    "SamplingDraw", "SamplingItem", "ViolationCase", "flag_names",
    "DestructionRecord", "LegalHold",
]
