"""Diagram versions, applications (process instances) and their projections."""

from __future__ import annotations

import enum
import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import DDL, JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, event, false, select
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .base import Base, str_enum, utcnow
from .org import Agency, Person, Unit
from .sealing import SealedJSON, SealedString, digest

# The form fields that hold an ID number (workflows.forms, type "national_id"); sealed inside application data.
# 社會局's 查調資料申請表 (003 附表3) lists several subjects: the further ones are sealed the same way.
ID_FIELDS = ("national_id", "subject_national_id", "subject_2_national_id", "subject_3_national_id")


class ProcessDefinition(Base):
    """A process key (e.g. ``querier_account``) within a jurisdiction."""

    __tablename__ = "process_definition"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    jurisdiction: Mapped[str] = mapped_column(String(40))
    # The form that starts this chain (the diagram's ``form`` property, else its key); fixed at the first deploy.
    form_key: Mapped[str] = mapped_column(String(60), index=True)

    versions: Mapped[list[DefinitionVersion]] = relationship(
        back_populates="definition", order_by="DefinitionVersion.version"
    )


class DefinitionVersion(Base):
    """One deployed, immutable diagram; a deploy of known content keeps its version, a rollback repeats it."""

    __tablename__ = "definition_version"
    __table_args__ = (UniqueConstraint("definition_id", "version"), Index(None, "definition_id", "sha256"))

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    version: Mapped[int]
    bpmn_xml: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # loaded only to parse or download
    sha256: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    restores_version: Mapped[int | None]  # a rollback: the earlier version whose content this repeats

    definition: Mapped[ProcessDefinition] = relationship(back_populates="versions")


class FormChain(Base):
    """The process that runs a form's filings: an administrator's choice, or an agency layer's own chain for the
    filers of that agency (``agency_id``); without a row, the process keyed as the form."""

    __tablename__ = "form_chain"
    __table_args__ = (UniqueConstraint("form_key", "agency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_key: Mapped[str] = mapped_column(String(60), index=True)
    # None: the city's chain for everyone; an agency: that agency's filers only (003 附表1 for 社會局).
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    switched_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    switched_at: Mapped[datetime] = mapped_column(default=utcnow)

    definition: Mapped[ProcessDefinition] = relationship()


class DiagramDraft(Base):
    """An administrator's unsaved redraw of a process, kept until it is deployed or discarded."""

    __tablename__ = "diagram_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_key: Mapped[str] = mapped_column(String(60), index=True)
    base_version_id: Mapped[int | None] = mapped_column(ForeignKey("definition_version.id"))
    bpmn_xml: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    base_version: Mapped[DefinitionVersion | None] = relationship()
    author: Mapped[Person] = relationship()


class ApplicationState(enum.StrEnum):
    RUNNING = "running"
    RETURNED = "returned"
    COMPLETED = "completed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


OPEN_STATES = (ApplicationState.RUNNING, ApplicationState.RETURNED)  # still travelling its chain


class Application(Base):
    """A filed form travelling its chain: the app's process instance."""

    __tablename__ = "application"
    __table_args__ = (
        Index("ix_application_applicant_created", "applicant_id", "created_at"),
        Index("ix_application_agency_created", "agency_id", "created_at"),
        Index("ix_application_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form_key: Mapped[str] = mapped_column(String(60), index=True)
    definition_version_id: Mapped[int] = mapped_column(ForeignKey("definition_version.id"))
    # None for the duties the scheduler starts (a yearly review has no applicant).
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    # The colleague the application is filed for (需要資料者, 003 §5 ¶2), who may see it; None: the applicant's own.
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    state: Mapped[ApplicationState] = mapped_column(
        str_enum(ApplicationState), default=ApplicationState.RUNNING, index=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(SealedJSON(ID_FIELDS))
    # Keyed hash of the ID number the form carries (a sheet of rows: its first row's), for exact search; every
    # row of a 查調資料登記表 is in registration_row with its own hash.
    national_id_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    # The engine's saved state (10-30 KB): loaded only by the code that restores the engine, never by reads.
    workflow_state: Mapped[str] = mapped_column(Text, deferred=True)
    serializer_version: Mapped[str] = mapped_column(String(10))
    next_timer_at: Mapped[datetime | None] = mapped_column(index=True)
    # Where the instance has been, for marking the diagram without restoring the engine.
    trail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The waiting timers ({"timers": [[task id, event, due], ...], "handled": [task id, ...]}), written at each
    # save: a reminder or escalation that only notifies is sent from it without restoring the engine.
    timer_plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Since when the oldest open step has waited; None when nobody holds it. Indexed for "stuck" lists.
    waiting_since: Mapped[datetime | None] = mapped_column(index=True)
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    lock_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]

    # An optimistic version: two writers advancing one instance cannot both commit.
    __mapper_args__ = {"version_id_col": lock_version}

    definition_version: Mapped[DefinitionVersion] = relationship()
    applicant: Mapped[Person | None] = relationship(foreign_keys=[applicant_id])
    requester: Mapped[Person | None] = relationship(foreign_keys=[requester_id])
    agency: Mapped[Agency] = relationship()
    unit: Mapped[Unit | None] = relationship()
    tasks: Mapped[list[HumanTask]] = relationship(back_populates="application", order_by="HumanTask.id")
    history: Mapped[list[HistoryEntry]] = relationship(back_populates="application", order_by="HistoryEntry.id")
    # A 查調資料登記表's lines, kept equal to its data by the filing (workflows.filing.applications).
    registration_rows: Mapped[list[RegistrationRow]] = relationship(order_by="RegistrationRow.line",
                                                                    cascade="all, delete-orphan")

    @hybrid_property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @is_open.inplace.expression
    @classmethod
    def _is_open_expression(cls):
        return cls.state.in_(OPEN_STATES)

    @validates("data")
    def _hash_national_id(self, _key: str, value: dict[str, Any]) -> dict[str, Any]:
        first = (value.get("rows") or [None])[0] if isinstance(value, dict) else None
        number = next((d[k] for d in (value, first) for k in ID_FIELDS if isinstance(d, dict) and d.get(k)), None)
        self.national_id_hash = digest(number) if number else None
        return value


class RegistrationRow(Base):
    """One line of a 查調資料登記表 (000 附表一: 編號, date, subject, item): what a logged query is matched to.

    Written from the application's data whenever it is filed or corrected; a sheet that carries one subject (an
    agency's own sheet, another city's) has one line. The subject's number is sealed like the form's own."""

    __tablename__ = "registration_row"
    __table_args__ = (UniqueConstraint("application_id", "line"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"))
    line: Mapped[int]  # 編號, from 1
    query_date: Mapped[date | None]
    item: Mapped[str | None] = mapped_column(String(10))
    # Keyed hash of the subject's number ("" once destroyed), indexed: search and reconciliation find rows by it.
    subject_hash: Mapped[str] = mapped_column(String(64), index=True)
    subject_id: Mapped[str | None] = mapped_column("subject_id_sealed", SealedString(120))


class TaskState(enum.StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class HumanTask(Base):
    """Inbox projection of a ready user task, written in the same transaction as the step."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_state_created", "state", "created_at"),
        Index("ix_human_task_application_state", "application_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"))
    task_guid: Mapped[str] = mapped_column(String(36), unique=True)
    step: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    form: Mapped[str | None] = mapped_column(String(40))
    # The diagram lets holders decide this step for several applications at once (the step's bulk property).
    bulk: Mapped[bool] = mapped_column(default=False, server_default=false())
    state: Mapped[TaskState] = mapped_column(str_enum(TaskState), default=TaskState.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    # A candidate who took the step: it leaves the other candidates' inboxes until released.
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    claimed_at: Mapped[datetime | None]

    application: Mapped[Application] = relationship(back_populates="tasks")
    candidates: Mapped[list[TaskCandidate]] = relationship(cascade="all, delete-orphan")
    completed_by: Mapped[Person | None] = relationship(foreign_keys=[completed_by_id])
    claimed_by: Mapped[Person | None] = relationship(foreign_keys=[claimed_by_id])


class TaskCandidate(Base):
    """A person who may complete a task, resolved from role and context when it opened."""

    __tablename__ = "task_candidate"
    # The second index holds everything the inbox's counts per form and step read: they never touch a table row.
    __table_args__ = (Index("ix_task_candidate_person_open", "person_id", "is_open", "created_at"),
                      Index("ix_task_candidate_person_open_step", "person_id", "is_open", "form_key", "step",
                            "step_name"))

    human_task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    # Copied from the task so the inbox is one index range scan, no join on state.
    is_open: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the person holds the step as someone's leave substitute (代理人): the holder they stand in for.
    # A person id without a foreign key, so a join from this table to person still has one obvious way.
    on_behalf_of_id: Mapped[int | None]
    # Copied from the application so the inbox's counts per form read the index alone (no join per open step).
    # ``for_task`` fills it; left out, it is looked up when the row is inserted (``_fill_form_key``).
    form_key: Mapped[str] = mapped_column(String(60))
    # Copied from the task (its step id and name) so the inbox's counts per step and its step filter read the
    # index alone too; looked up with the form key when left out.
    step: Mapped[str] = mapped_column(String(100))
    step_name: Mapped[str] = mapped_column(String(200))

    person: Mapped[Person] = relationship()

    @classmethod
    def for_task(cls, task: HumanTask, **fields) -> TaskCandidate:
        """A candidate row of ``task`` with its copies of the form key, step id and step name filled in (no
        look-up when it is inserted)."""
        return cls(form_key=task.application.form_key, step=task.step, step_name=task.name, **fields)


@event.listens_for(TaskCandidate, "before_insert")
def _fill_form_key(mapper, connection, target: TaskCandidate) -> None:
    if target.form_key is None or target.step is None or target.step_name is None:
        form_key, step, name = connection.execute(
            select(Application.form_key, HumanTask.step, HumanTask.name)
            .join(HumanTask, HumanTask.application_id == Application.id)
            .where(HumanTask.id == target.human_task_id)).one()
        target.form_key = target.form_key or form_key
        target.step = target.step or step
        target.step_name = target.step_name or name


class HistoryEntry(Base):
    """The sign-off record (簽核紀錄): who decided what, in which role, when."""

    __tablename__ = "history_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    step: Mapped[str] = mapped_column(String(100))
    step_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    decision: Mapped[str] = mapped_column(String(20))
    opinion: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The holder a leave substitute (代理人) or a delegate (授權人員) decided for ("substitute 代 holder"); a person id
    # without a foreign key, so a join from this table to person still has one obvious way (the actor).
    on_behalf_of_id: Mapped[int | None]

    actor: Mapped[Person | None] = relationship()
    on_behalf_of: Mapped[Person | None] = relationship(
        primaryjoin="foreign(HistoryEntry.on_behalf_of_id) == Person.id", viewonly=True)
    application: Mapped[Application] = relationship(back_populates="history")


class AuditEvent(Base):
    """Append-only audit trail; event types read ``<subject>_<past_tense_verb>``."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_type: Mapped[str] = mapped_column(String(60), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int | None]
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Position in the one hash chain, given when the event is appended at its transaction's commit
    # (workflows.audit): 1, 2, 3 ... without gaps, so a deleted event leaves a hole.
    seq: Mapped[int] = mapped_column(index=True, unique=True)
    chain_hash: Mapped[str] = mapped_column(String(64))  # audit_hash(previous event's chain_hash, this event)

    def hash_after(self, previous: str) -> str:
        return audit_hash(previous, seq=self.seq, event_type=self.event_type, actor_id=self.actor_id,
                          subject_type=self.subject_type, subject_id=self.subject_id, payload=self.payload,
                          created_at=self.created_at)


class AuditChain(Base):
    """The head of the audit chain: its last position and hash.

    Every append locks this one row, so concurrent writers queue instead of forking the chain; and since
    the head only moves forward, events cut from the end of the trail no longer match it.
    """

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int]
    chain_hash: Mapped[str] = mapped_column(String(64))


AUDIT_CHAIN_ID = 1
AUDIT_GENESIS = "0" * 64  # the "previous hash" of the first event


def audit_hash(previous: str, *, seq: int, event_type: str, actor_id: int | None, subject_type: str,
               subject_id: int | None, payload: dict[str, Any] | None, created_at: datetime) -> str:
    """sha256 over the previous hash and a canonical serialisation of the event's fields."""
    fields = {"seq": seq, "event_type": event_type, "actor_id": actor_id, "subject_type": subject_type,
              "subject_id": subject_id, "payload": payload,
              "created_at": created_at.astimezone(UTC).isoformat(timespec="microseconds")}
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((previous + canonical).encode()).hexdigest()


# PostgreSQL refuses to change or remove audit events, and to move the chain's head backwards; the same
# statements run from the migration. (SQLite has no such guard: there the chain check is the defence.)
AUDIT_TRIGGERS = {
    "audit_event": (
        """CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
    MESSAGE = 'audit_event is append-only: ' || TG_OP || ' refused';
END
$$""",
        "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
        "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()",
    ),
    "audit_chain": (
        """CREATE OR REPLACE FUNCTION audit_chain_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND (NEW.seq > OLD.seq
      OR (NEW.seq = OLD.seq AND NEW.chain_hash = OLD.chain_hash)) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
    MESSAGE = 'audit_chain only moves forward: ' || TG_OP || ' refused';
END
$$""",
        "CREATE TRIGGER audit_chain_forward_only BEFORE UPDATE OR DELETE ON audit_chain "
        "FOR EACH ROW EXECUTE FUNCTION audit_chain_forward_only()",
        "CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_forward_only()",
    ),
}


@event.listens_for(AuditChain.__table__, "after_create")
def _start_chain(table, connection, **_kw) -> None:
    connection.execute(table.insert().values(id=AUDIT_CHAIN_ID, seq=0, chain_hash=AUDIT_GENESIS))


for _table, _statements in AUDIT_TRIGGERS.items():
    for _statement in _statements:
        event.listen(Base.metadata.tables[_table], "after_create", DDL(_statement).execute_if(dialect="postgresql"))
