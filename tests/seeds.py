"""Comparing a form and its diagram with the seed it was made from (tests/fixtures/seeds)."""

from __future__ import annotations

from workflows.forms import STEP_FORMS


def check_labels(case: str, text: str, rows, form_key: str, fields: set[str], steps: dict) -> None:
    """Each (seed label, where) row: the label is in the seed's ``text``, and where the form keeps it still exists.

    ``where`` is ``field:<name>`` (a field of the form), ``step:<step>[.<field>]`` (a user task of the diagram, and a
    field of its step form), ``auto:<what>`` (kept by the application itself) or ``missing:<why>``.
    """
    for label, where in rows:
        assert label in text, f"{case}: the seed has no {label!r}"
        kind, _, target = where.partition(":")
        assert kind in ("field", "step", "auto", "missing") and target, (label, where)
        if kind == "field":
            assert target in fields, f"{case}: {label} → {target}, which {form_key} no longer has"
        if kind == "step":
            step, _, field = target.partition(".")
            assert step in steps, f"{case}: {label} → step {step}, which the diagram no longer has"
            if field:
                assert field in {f.name for f in STEP_FORMS[steps[step].form].fields}, (label, where)
