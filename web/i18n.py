"""The UI language: Traditional Chinese, the source text, by default; English from the ``lang`` cookie.

Every msgid is the Chinese text itself, so a string with no translation shows in Chinese. Templates
and web code mark their own strings with ``_()`` / ``_l()``; the labels and messages that come from
``workflows`` and ``models`` (which may not import Flask) are translated here, at render time:

* ``tr(text)``: a Chinese label (a form title, a field label, a role, a choice) in the active language.
* ``tr_message(text)``: also a message composed at run time, e.g. ``「姓名」為必填``. The extractor
  (``web/i18n_extract.py``) turns such f-strings into msgids with named placeholders,
  ``「%(label)s」為必填``; here a message is matched against those msgids and the pieces translated.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, g, has_request_context, redirect, request, url_for
from flask_babel import Babel, get_locale, get_translations, gettext, pgettext
from flask_babel.speaklater import LazyString
from flask_login import current_user
from markupsafe import Markup, escape

from workflows.personal.settings import choose_locale, preferred_locale

from . import clock
from .extensions import db
from .header import page_header

log = logging.getLogger(__name__)
DEFAULT_LOCALE = "zh_Hant_TW"
# code → (name in its own language, the value of <html lang>)
LANGUAGES = {"zh_Hant_TW": ("中文", "zh-Hant-TW"), "en": ("English", "en")}
COOKIE = "lang"
COOKIE_MAX_AGE = 400 * 86400  # browsers cap cookies at 400 days


class LazyText(LazyString):
    """Translated when used, and escaped like any str when rendered (Flask-Babel's own is put in unescaped)."""

    def __html__(self) -> Markup:
        return escape(str(self))


_ = gettext


def _l(text: str, **variables) -> LazyText:
    """``gettext`` when the string is used: for module-level labels (form fields, tables)."""
    return LazyText(gettext, text, **variables)


def _lp(context: str, text: str) -> LazyText:
    """``_l`` with a context, where one Chinese text needs two English ones (a state and a decision)."""
    return LazyText(pgettext, context, text)


def N_(text: str) -> str:  # noqa: N802 - the gettext convention: marks text for extraction only
    return text


babel = Babel()
bp = Blueprint("i18n", __name__)


def select_locale() -> str | None:
    """The signed-in person's own choice (it follows them), else the ``lang`` cookie; for the JSON API (a program,
    no cookie) also the request's Accept-Language; else the default (Traditional Chinese)."""
    if not has_request_context():
        return None
    code = _person_locale() or request.cookies.get(COOKIE)
    if code in LANGUAGES:
        return code
    if request.path.startswith("/api/"):
        for value, _quality in request.accept_languages:  # most wanted first: the first Chinese or English wins
            primary = value.lower().split("-")[0]
            if primary in ("zh", "en"):
                return "en" if primary == "en" else None
    return None


def _person_locale() -> str | None:
    if "person_locale" not in g:
        g.person_locale = None
        user = current_user._get_current_object() if request.endpoint != "static" else None
        header = page_header() if user is not None and user.is_authenticated else None
        if header is not None:  # read with the person
            g.person_locale = header.locale
        elif user is not None and user.is_authenticated:
            try:
                g.person_locale = preferred_locale(db.session, user)
            except Exception:  # an error page after a failed transaction still renders, in the cookie's language
                log.warning("could not read the language of %s", user.username, exc_info=True)
    return g.person_locale


def current_language() -> str:
    """The request's language, worked out once per request: a page asks for every label, date and row."""
    here = g._get_current_object() if has_request_context() else None  # g looked up once, not per attribute
    cached = getattr(here, "_language", None)
    if cached is not None:
        return cached
    locale = get_locale()
    code = str(locale) if locale is not None else DEFAULT_LOCALE
    code = code if code in LANGUAGES else DEFAULT_LOCALE
    if here is not None and locale is not None:
        here._language = code
    return code


def is_chinese() -> bool:
    return current_language() == DEFAULT_LOCALE


def page_translations():
    """Flask-Babel's catalogue for this request, looked up once per request and locale: its own lookup walks the
    context, the domain and the locale on every call, and a page asks for hundreds of labels (an inbox row alone a
    dozen). Kept with the locale object it was chosen for, so ``force_locale`` (a sheet printed in Chinese) or a
    refreshed locale still switches it."""
    if not has_request_context():
        return get_translations()
    here = g._get_current_object()  # one look-up of the request's g, not one per attribute (a page asks ~70 times)
    locale = getattr(getattr(here, "_flask_babel", None), "babel_locale", None)
    cached = getattr(here, "_page_translations", None)
    if locale is not None and cached is not None and cached[0] is locale:
        return cached[1]
    translations = get_translations()  # chooses the locale first when nothing has asked for it yet
    locale = getattr(g.get("_flask_babel"), "babel_locale", None)
    if locale is not None:
        g._page_translations = (locale, translations)
    return translations


# ---------------------------------------------------------------- labels and messages from workflows and models

def tr(text: Any) -> Any:
    """A Chinese label in the active language (exact catalogue entry); anything else comes back unchanged."""
    if isinstance(text, LazyString):
        text = str(text)
    if not isinstance(text, str) or not text or is_chinese():
        return text
    return page_translations().gettext(text)


def lazy_tr(text: str) -> LazyText:
    """``tr`` when the string is used: for module-level tables of labels owned by workflows or models."""
    return LazyText(tr, text)


def tr_message(text: Any) -> Any:
    """A label or a message composed at run time (``「姓名」為必填``) in the active language, where the catalogue
    has it or a pattern of it; otherwise unchanged (so still Chinese)."""
    if isinstance(text, LazyString):
        text = str(text)
    if not isinstance(text, str) or not text or is_chinese():
        return text
    return _translate(get_translations(), text, depth=0)


def tr_choice(value: str, label: str) -> str:
    """A choice label; ``C0101 被保險人投保資料`` (code, space, item name) translates the name."""
    out = tr_message(label)
    if out == label and isinstance(label, str) and label.startswith(f"{value} "):
        return f"{value} {tr(label[len(value) + 1:])}"
    return out


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_CJK_TEXT = re.compile(r"[\u3000-\u303f\u3400-\u9fff]")  # ideographs and CJK punctuation such as 「」、
_MAX_DEPTH = 2
# A placeholder's value: shortest first, but never cutting through a 「quoted」 part, so that in
# 「已於「我的e政府」平台…」須勾選確認 the label is everything between the outer brackets.
_VALUE = r"(?:[^「」]|「[^「」]*」)+?"


def _translate(translations, text: str, depth: int) -> str:
    out = translations.gettext(text)
    if out != text or depth > _MAX_DEPTH:
        return out
    for regex, msgid, names in _patterns(translations):
        match = regex.match(text)
        if match is None:
            continue
        values = {name: _translate(translations, match[f"g{i}"], depth + 1) for i, name in enumerate(names)}
        try:
            return translations.gettext(msgid) % values
        except (KeyError, ValueError, TypeError):
            return text
    return text


def _patterns(translations) -> list[tuple[re.Pattern, str, list[str]]]:
    """Regexes for the catalogue's msgids with named placeholders, the most literal text first."""
    cached = getattr(translations, "_webir_patterns", None)
    if cached is not None:
        return cached
    found = []
    for msgid, msgstr in getattr(translations, "_catalog", {}).items():
        if not isinstance(msgid, str) or "%(" not in msgid or msgid == msgstr:
            continue
        parts = _PLACEHOLDER.split(msgid)
        literals, names = parts[0::2], parts[1::2]
        if not _CJK_TEXT.search("".join(literals)):
            continue  # nothing but placeholders and punctuation: would match too much
        body = "".join(re.escape(lit.replace("%%", "%")) + (rf"(?P<g{i}>{_VALUE})" if i < len(names) else "")
                       for i, lit in enumerate(literals))
        found.append((len("".join(literals)), re.compile(rf"\A{body}\Z", re.S), msgid, names))
    found.sort(key=lambda row: -row[0])
    cached = [(regex, msgid, names) for _weight, regex, msgid, names in found]
    translations._webir_patterns = cached
    return cached


# ---------------------------------------------------------------- the switcher

def same_site_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site (``/...``), else None: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def here() -> str:
    """This page's path and query, for the switcher's ``next``."""
    return request.full_path.rstrip("?") if has_request_context() else "/"


@bp.get("/lang/<code>")
def switch(code: str):
    """Set the ``lang`` cookie and go back to the page (same site only; anything else goes to the inbox)."""
    if code not in LANGUAGES:
        abort(404)
    if current_user.is_authenticated:  # kept on the person too, so it follows them to another browser
        choose_locale(db.session, actor=current_user, locale=code, now=clock.now())
    response = redirect(same_site_path(request.args.get("next")) or url_for("inbox.index"))
    response.set_cookie(COOKIE, code, max_age=COOKIE_MAX_AGE, path="/", samesite="Lax", httponly=True,
                        secure=request.is_secure)
    return response


def _client_text() -> dict[str, str]:
    """Strings the scripts show (diagram.js, editor.js); ``{name}`` is filled in by the script."""
    return {
        "overdue": _("逾期 {days} 天"), "noHolder": _("尚無承辦人"), "median": _("中位數 {median} 天"),
        "serverStatus": _("伺服器回應 {status}"), "wholeDiagram": _("整張圖"),
        "loadedWithWarnings": _("已載入，但有 {count} 項無法辨識的內容已略過"),
        "cannotOpen": _("無法開啟這個檔案：{error}"), "noProblems": _("沒有發現問題，可以部署。"),
        "checking": _("檢查中…"), "checkFailed": _("檢查失敗"), "errorsFound": _("發現 {count} 項錯誤，請修正後再部署"),
        "checkPassed": _("檢查通過"), "cannotSaveDraft": _("無法儲存草稿"), "draftSaved": _("草稿已儲存（{time}）"),
        "noteRequired": _("請先填寫變更說明"), "deploying": _("部署中…"), "notPassed": _("流程圖未通過檢查"),
        "deployFailed": _("部署失敗（{status}）"), "deployed": _("已部署為第 {version} 版"),
        "sameAsVersion": _("內容與第 {version} 版相同，未建立新版本"), "tooLarge": _("檔案超過 2 MB，無法開啟"),
        "opened": _("已開啟 {name}；檢查並部署後才會生效"), "cannotLoad": _("無法載入流程圖"),
        "added": _("新增"), "changed": _("修改"), "moved": _("移動"), "removed": _("刪除"),
        "what.name": _("名稱"), "what.condition": _("條件"), "what.default": _("預設路徑"), "what.form": _("表單"),
        "what.due_working_days": _("辦理期限（工作天）"), "what.notify": _("通知對象"), "what.timer": _("計時器"),
        "none": _("（無）"), "noDifferences": _("兩個版本沒有差異。"), "sep": _("、"), "listSep": _("；"),
        "colon": _("："),
        "missingTimers": _("這個簽核步驟沒有「逾期提醒」與「逾期通報上級」兩個邊界計時器；請比照其他步驟加上"),
        "zoomIn": _("放大"), "zoomOut": _("縮小"), "fit": _("符合畫面"), "zoom": _("縮放"),
        "pathsTitle": _("模擬走過的路徑（{count} 條）"), "pathSteps": _("路徑"),
        "pathEnd": _("結果"), "filed": _("提出申請"),
        "rewound.send_back": _("退回至此重辦（第 {round} 次）"), "rewound.recall": _("取回重辦（第 {round} 次）"),
    }


def init_app(app) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    babel.init_app(app, locale_selector=select_locale)
    # Templates' _(), ngettext and pgettext as Flask-Babel installs them, with the catalogue looked up once a page.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: page_translations().ugettext(s),
        ngettext=lambda s, p, n: page_translations().ungettext(s, p, n),
        pgettext=lambda c, s: page_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: page_translations().unpgettext(c, s, p, n),
        newstyle=True)
    app.register_blueprint(bp)
    app.jinja_env.filters.update(tr=tr, tr_message=tr_message)
    app.jinja_env.globals.update(tr_choice=tr_choice, LANGUAGES=LANGUAGES, here=here, client_text=_client_text)

    @app.context_processor
    def language():
        code = current_language()
        return {"current_language": code, "html_lang": LANGUAGES[code][1]}
