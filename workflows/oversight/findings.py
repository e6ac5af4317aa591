"""The yearly audit's findings, tracked until the audited agency has corrected each one (001 §12(3)).

勞工局's audit record rates four aspects 符合 or 待改善; each 待改善 is a finding. The audited agency's manager
records corrections, closing one or more findings each time, and the chain loops until none is open: the
diagram's gateways read ``findings_open``, which the code sets from the record, never as typed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

ASPECTS = ("accuracy", "legitimacy", "usage", "confidentiality")
IMPROVE = "improve"
AUDIT_STEP = "agency_audit"
CORRECTION_STEP = "audit_correction"
COMPUTED = "findings_open"


def audit_record(data: dict[str, Any]) -> dict[str, Any]:
    """The audit step's data with the findings it opens: every aspect rated 待改善."""
    opened = [aspect for aspect in ASPECTS if data.get(aspect) == IMPROVE]
    return {**data, "open_findings": opened, COMPUTED: bool(opened)}


def open_findings(history: Iterable[Any]) -> list[str]:
    """The findings still open after the latest audit or correction recorded in the sign-off history."""
    for entry in reversed(list(history)):  # the history leaves out empty values: none open has no list
        if entry.data and COMPUTED in entry.data:
            return list(entry.data.get("open_findings") or [])
    return []


def correction_check(still_open: list[str]):
    def check(data: dict[str, Any]) -> dict[str, str]:
        unknown = [code for code in data.get("closed_findings") or [] if code not in still_open]
        return {"closed_findings": "只能結案尚未改正之缺失"} if unknown else {}
    return check


def correction_record(still_open: list[str]):
    def record(data: dict[str, Any]) -> dict[str, Any]:
        closed = set(data.get("closed_findings") or [])
        remaining = [code for code in still_open if code not in closed]
        return {**data, "open_findings": remaining, COMPUTED: bool(remaining)}
    return record
