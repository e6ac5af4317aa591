"""SQLAlchemy models: tables, relationships and small predicates; no Flask."""

from .accounts import QUERY_ITEMS, AccountItem, AccountKind, AccountStatus, AgencyQueryItem, WebirAccount
from .base import Base, utcnow
from .notify import Notification, ScheduleRun
from .org import ROLE_LABELS, Agency, AgencyKind, Delegation, Person, Role, RoleHolding, Unit
from .process import (
    ID_FIELDS,
    Application,
    ApplicationState,
    AuditEvent,
    DefinitionVersion,
    DiagramDraft,
    HistoryEntry,
    HumanTask,
    ProcessDefinition,
    TaskCandidate,
    TaskState,
)

__all__ = [
    "ID_FIELDS", "QUERY_ITEMS", "ROLE_LABELS", "AccountItem", "AccountKind", "AccountStatus", "Agency", "AgencyKind",
    "AgencyQueryItem", "Application", "ApplicationState", "AuditEvent", "Base", "Delegation",
    "DefinitionVersion", "DiagramDraft", "HistoryEntry", "HumanTask", "Notification", "Person", "ProcessDefinition",
    "Role", "RoleHolding", "ScheduleRun",
    "TaskCandidate", "TaskState", "Unit", "WebirAccount", "utcnow",
]
