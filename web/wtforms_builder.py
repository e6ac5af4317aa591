"""Build WTForms classes from the form descriptions in workflows.forms (labels and errors in the UI language)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    MultipleFileField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import Optional

from workflows.forms import Field, parse_row_key

from .i18n import tr, tr_choice, tr_message

ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"  # a hint to the file chooser; the core checks
LEGAL_BASIS_LIST = "legal-basis-options"  # the <datalist> of applications/new.html


class CheckboxListField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def choices(pairs, translate: bool = True) -> list[SelectChoice]:
    """Choices with their labels in the UI language (built per request, like the forms); names are data: as is."""
    return [SelectChoice(value, tr_choice(value, label) if translate else label) for value, label in pairs]


class RowsField(FieldList):
    """A sheet's rows: one slot per row it may carry (unused trailing slots are dropped by the core), each
    column labelled with its line (「第 3 筆 被查詢人姓名」) so a screen reader names the row it is in."""

    def process(self, formdata, data=None, extra_filters=None):
        super().process(formdata, data if data is not None else [], extra_filters)
        for line, entry in enumerate(self.entries, start=1):
            for sub in entry.form:
                sub.label.text = f"{tr('第 %(line)s 筆') % {'line': line}} {sub.label.text}"


def _row_form(f: Field) -> type[Form]:
    return type("RowForm", (Form,), {c.name: _row_column(c) for c in f.columns})


def _row_column(c: Field):
    """A column of a row: a choice is a drop-down (ten rows of twenty radio buttons would bury the sheet)."""
    if c.type == "choice":
        return SelectField(label=tr_message(c.label), description=tr_message(c.help), validators=[Optional()],
                           choices=[SelectChoice("", "—"), *choices(c.choices)])
    return _wt_field(c)


def _wt_field(f: Field):
    kw: dict[str, Any] = {"label": tr_message(f.label), "description": tr_message(f.help)}
    if f.type == "rows":
        return RowsField(FormField(_row_form(f)), min_entries=f.max_rows, max_entries=f.max_rows, **kw)
    if f.type == "boolean":
        return BooleanField(**kw)
    if f.type == "multichoice":
        return CheckboxListField(choices=choices(f.choices), validators=[Optional()], **kw)
    if f.type == "choice":
        return RadioField(choices=choices(f.choices), validators=[Optional()], **kw)
    if f.type == "date":
        return DateField(validators=[Optional()], render_kw={"type": "date"}, **kw)
    if f.type == "text":
        return TextAreaField(render_kw={"rows": 3}, **kw)
    if f.type == "attachment":  # the files become drafts first; the field's value is their ids (web.attachments)
        return MultipleFileField(render_kw={"accept": ACCEPT}, **kw)
    if f.type == "legal_basis":  # the filer's agency's statutes offered by the page's datalist (any text allowed)
        return StringField(render_kw={"list": LEGAL_BASIS_LIST, "autocomplete": "off"}, **kw)
    # Field rules live in workflows.forms (one source for pages and API); errors come back via apply_errors.
    return StringField(**kw)


def form_class(fields: tuple[Field, ...], extra: dict[str, Any] | None = None) -> type[FlaskForm]:
    """A FlaskForm (CSRF included) with one WTForms field per described field."""
    attrs = {f.name: _wt_field(f) for f in fields}
    attrs.update(extra or {})
    return type("GeneratedForm", (FlaskForm,), attrs)


def form_data(fields: tuple[Field, ...], data: dict[str, Any]) -> dict[str, Any]:
    """Stored values as the WTForms fields hold them: a date field holds a date, not its ISO text."""
    out = dict(data)
    for f in fields:
        if f.type == "date" and isinstance(out.get(f.name), str):
            try:
                out[f.name] = date.fromisoformat(out[f.name])
            except ValueError:
                out[f.name] = None
        if f.type == "rows" and isinstance(out.get(f.name), list):
            out[f.name] = [form_data(f.columns, row) for row in out[f.name] if isinstance(row, dict)]
    return out


def form_values(form: Form, fields: tuple[Field, ...]) -> dict[str, Any]:
    """The submitted values as plain data for the service layer to validate."""
    out: dict[str, Any] = {}
    for f in fields:
        if f.type == "rows":  # every slot: the core drops the unused ones at the end
            out[f.name] = [form_values(entry.form, f.columns) for entry in form[f.name].entries]
            continue
        value = form[f.name].data
        if f.type == "date" and value is not None:
            value = value.isoformat()
        if f.type == "attachment":
            continue  # files, not values: web.attachments.filed_files turns them into ids
        out[f.name] = value
    return out


def apply_errors(form: FlaskForm, errors: dict[str, str]) -> None:
    """Show the service layer's errors next to their fields, in the UI language where the catalogue has them."""
    for name, message in errors.items():
        field = _named(form, name)
        if field is not None:
            field.errors = [*field.errors, tr_message(message)]


def _named(form: FlaskForm, name: str):
    """The field an error names: a form's own, or a row's column (``rows[3].item``: line 3's item), else the rows
    as a whole (``rows[3]``: the line)."""
    if name in form:
        return form[name]
    parsed = parse_row_key(name)
    if parsed is None or parsed[0] not in form or not isinstance(form[parsed[0]], FieldList):
        return None
    rows, (_field, line, column) = form[parsed[0]], parsed
    if column is not None and 0 < line <= len(rows.entries) and column in rows.entries[line - 1].form:
        return rows.entries[line - 1].form[column]
    return rows
