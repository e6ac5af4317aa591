"""Deploy refusals, simulated paths and engine errors in the UI language.

The core writes them in Chinese, which is the msgid (``workflows/engine``, ``workflows/editor`` are extracted by
``web/i18n_extract.py``); here they are translated when the person reads English (the ``lang`` cookie, or for the
API also Accept-Language), for the editor's scripts, the API's problem documents and the pages alike.
"""

from __future__ import annotations

from typing import Any

from workflows.engine.simulate import DECISION_WORDS, END_WORDS

from .i18n import _, is_chinese, tr, tr_message


def problems_json(problems) -> list[dict[str, Any]]:
    """(element, message) pairs as the editor and the API show them."""
    return [{"element": element, "message": _moves(tr_message(message))} for element, message in problems]


def _moves(text: str) -> str:
    """The decisions and the end of a path a message quotes (``單位主管核准：不同意 → 核准結案``), as the path table
    shows them: the catalogue's patterns cannot split a path into its moves."""
    if is_chinese():
        return text
    for word in DECISION_WORDS.values():
        text = text.replace(f"：{word} →", f"{_('：')}{tr(word)} →")
    for word in END_WORDS.values():  # a quoted path ends the message
        if text.endswith(f" → {word}"):
            text = f"{text[:-len(word)]}{tr(word)}"
    return text.replace("（計時器） →", _("%(name)s（計時器）", name="") + " →")


def paths_json(paths) -> list[dict[str, Any]]:
    """Simulated paths (``SimPath``) as the editor's table and the API's 422 show them."""
    return [_path(path.as_dict()) for path in paths]


def _path(path: dict[str, Any]) -> dict[str, Any]:
    if is_chinese():
        return path
    steps = [{**step, "label": _step_label(step)} for step in path["steps"]]
    end = tr(END_WORDS[path["end"]])
    moves = " → ".join(step["label"] for step in steps) or tr("（無人決定）")
    prefix = f"[{path['variant']}] " if path["variant"] else ""
    return {**path, "steps": steps, "end_label": end, "text": f"{prefix}{_('提出申請')} → {moves} → {end}"}


def _step_label(step: dict[str, Any]) -> str:
    if step["decision"] is None:
        return _("%(name)s（計時器）", name=step["name"])
    return f"{step['name']}{_('：')}{tr(DECISION_WORDS.get(step['decision'], step['decision']))}"
