"""SQLAlchemy models: tables, relationships and small predicates; no Flask."""

from .accounts import QUERY_ITEMS, AccountItem, AccountKind, AccountStatus, AgencyQueryItem, WebirAccount
from .base import Base, utcnow
from .notify import Notification, ScheduleRun
from .org import ROLE_LABELS, Agency, AgencyKind, Delegation, Person, Role, RoleHolding, Unit
from .process import (
    AUDIT_CHAIN_ID,
    AUDIT_GENESIS,
    ID_FIELDS,
    Application,
    ApplicationState,
    AuditChain,
    AuditEvent,
    DefinitionVersion,
    DiagramDraft,
    HistoryEntry,
    HumanTask,
    ProcessDefinition,
    TaskCandidate,
    TaskState,
    audit_hash,
)

__all__ = [
    "AUDIT_CHAIN_ID", "AUDIT_GENESIS", "ID_FIELDS", "QUERY_ITEMS", "ROLE_LABELS", "AccountItem", "AccountKind",
    "AccountStatus", "Agency", "AgencyKind", "AgencyQueryItem", "Application", "ApplicationState", "AuditChain",
    "AuditEvent", "Base", "Delegation",
    "DefinitionVersion", "DiagramDraft", "HistoryEntry", "HumanTask", "Notification", "Person", "ProcessDefinition",
    "Role", "RoleHolding", "ScheduleRun",
    "TaskCandidate", "TaskState", "Unit", "WebirAccount", "audit_hash", "utcnow",
]
