"""Domain errors; the web layer maps each to an HTTP status."""


class WorkflowError(Exception):
    """Base for errors a person can act on."""


class NotFound(WorkflowError):
    """404: no such thing, or not visible to this actor."""


class Forbidden(WorkflowError):
    """403: the actor may not do this."""


class Conflict(WorkflowError):
    """409: the thing changed under the actor (already completed, concurrent step)."""


class Invalid(WorkflowError):
    """422: input does not fit; ``errors`` maps field names to messages."""

    def __init__(self, errors: dict[str, str], message: str = "輸入資料有誤"):
        super().__init__(message)
        self.errors = errors


class IncidentOpened(Conflict):
    """409: the engine failed while running the person's step; what the step did was rolled back and an incident
    (``incident_id``, on ``application_id``) is open for the administrators, who have been told."""

    def __init__(self, message: str, *, incident_id: int, application_id: int):
        super().__init__(message)
        self.incident_id = incident_id
        self.application_id = application_id
