"""The Chinese catalogue is complete, compiled, and covers every string the code marks for translation.

Adding a user-visible string means: `cd townbrain && django-admin makemessages -l zh_Hans -l en
--no-obsolete --ignore 'static/*'`, translate the new msgids in locale/zh_Hans/LC_MESSAGES/django.po,
then `django-admin compilemessages`. These tests fail until all three are done.
"""

import ast
import gettext as gettext_module
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation
from django.utils.translation.template import templatize

PACKAGE = Path(__file__).resolve().parents[2]
LOCALE = PACKAGE / "locale"
ZH_PO = LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po"
ZH_MO = ZH_PO.with_suffix(".mo")
EN_PO = LOCALE / "en" / "LC_MESSAGES" / "django.po"
EN_MO = EN_PO.with_suffix(".mo")

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


# -- a tiny .po reader ---------------------------------------------------------------------------

@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.msgctxt, self.msgid)

    @property
    def where(self) -> str:
        return f"line {self.line}: {self.msgid!r}"


def read_po(path: Path) -> list[Entry]:
    """Entries of a .po file, header (msgid "") included; obsolete (#~) entries skipped."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int | None] | None = None

    def finish():
        if current is not None and target is not None:
            entries.append(current)

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            current, target = None, None
            continue
        if line.startswith("#~"):
            continue
        if current is None:
            current = Entry(line=number)
        if line.startswith("#,"):
            current.flags.update(f.strip() for f in line[2:].split(",") if f.strip())
            continue
        if line.startswith("#"):
            continue
        match = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")$", line)
        if match:
            keyword, index, literal = match.groups()
            value = ast.literal_eval(literal)
            if keyword == "msgctxt":
                current.msgctxt, target = value, ("msgctxt", None)
            elif keyword == "msgid":
                current.msgid, target = value, ("msgid", None)
                current.line = number
            elif keyword == "msgid_plural":
                current.msgid_plural, target = value, ("msgid_plural", None)
            else:
                i = int(index) if index is not None else 0
                current.msgstr[i] = value
                target = ("msgstr", i)
        elif line.startswith('"') and target is not None:
            value = ast.literal_eval(line)
            name, i = target
            if name == "msgstr":
                current.msgstr[i] += value
            else:
                setattr(current, name, getattr(current, name) + value)
        else:
            raise AssertionError(f"{path}:{number}: cannot read {raw!r}")
    finish()
    return entries


def messages(entries: list[Entry]) -> list[Entry]:
    return [e for e in entries if e.msgid != ""]


def header(entries: list[Entry]) -> Entry:
    return next(e for e in entries if e.msgid == "" and e.msgctxt is None)


def untranslated_or_fuzzy(entries: list[Entry]) -> list[str]:
    problems = []
    for entry in entries:
        if "fuzzy" in entry.flags:
            problems.append(f"fuzzy {entry.where}")
        elif entry.msgid and (not entry.msgstr or not all(entry.msgstr.values())):
            problems.append(f"untranslated {entry.where}")
    return problems


PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0 +]?\d*(?:\.\d+)?([sdifrxX%])")


def placeholders(text: str) -> list[str]:
    return sorted(f"{name or ''}:{conv}" for name, conv in PLACEHOLDER.findall(text) if conv != "%")


# -- (a) the Chinese catalogue is complete ------------------------------------------------------

def test_catalogues_exist():
    for path in (ZH_PO, ZH_MO, EN_PO, EN_MO):
        assert path.is_file(), f"{path.relative_to(PACKAGE)} is missing"


def test_chinese_catalogue_has_no_untranslated_or_fuzzy_entries():
    entries = read_po(ZH_PO)
    assert len(messages(entries)) > 100
    assert "fuzzy" not in header(entries).flags, "the header is marked fuzzy"
    assert untranslated_or_fuzzy(entries) == []


def test_chinese_header_declares_the_language_and_one_plural_form():
    meta = header(read_po(ZH_PO)).msgstr[0]
    assert "Language: zh_Hans" in meta
    assert "charset=UTF-8" in meta
    assert "Plural-Forms: nplurals=1; plural=0;" in meta


def test_chinese_translations_keep_placeholders_and_quotes():
    problems = []
    for entry in messages(read_po(ZH_PO)):
        source = entry.msgid_plural or entry.msgid
        for i, text in entry.msgstr.items():
            if "python-format" in entry.flags and placeholders(text) != placeholders(source):
                problems.append(f"placeholders differ in msgstr[{i}] of {entry.where}: {text!r}")
            for quoted in re.findall(r"“[^”]*”", source):
                if "%(" in quoted and quoted not in text:
                    problems.append(f"{quoted} lost its “” quotes in {entry.where}: {text!r}")
    assert problems == []


def test_both_catalogues_hold_the_same_messages():
    zh = {e.key for e in messages(read_po(ZH_PO))}
    en = {e.key for e in messages(read_po(EN_PO))}
    assert zh - en == set(), "run makemessages for -l en too"
    assert en - zh == set(), "run makemessages for -l zh_Hans too"


# -- (b) the compiled .mo files match the .po files ---------------------------------------------

def load_mo(path: Path) -> gettext_module.GNUTranslations:
    with path.open("rb") as fh:
        return gettext_module.GNUTranslations(fh)


def test_chinese_mo_is_in_sync_with_po():
    mo = load_mo(ZH_MO)
    stale = []
    for entry in messages(read_po(ZH_PO)):
        if entry.msgid_plural is None:
            got = (mo.pgettext(entry.msgctxt, entry.msgid) if entry.msgctxt is not None
                   else mo.gettext(entry.msgid))
            want = entry.msgstr[0]
        else:
            got = (mo.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, 1)
                   if entry.msgctxt is not None else mo.ngettext(entry.msgid, entry.msgid_plural, 1))
            want = entry.msgstr[0]
        if got != want:
            stale.append(f"{entry.where}: .mo gives {got!r}, .po says {want!r}")
    assert stale == [], "run `django-admin compilemessages` in townbrain/"


def test_english_mo_compiles_and_falls_back_to_the_source_text():
    mo = load_mo(EN_MO)
    assert mo.info().get("language") == "en"
    for entry in messages(read_po(EN_PO)):
        if entry.msgid_plural is None and entry.msgctxt is None:
            assert mo.gettext(entry.msgid) == (entry.msgstr.get(0) or entry.msgid)


# -- (c) every string marked in the code is in the catalogue ------------------------------------

# xgettext's keywords as makemessages passes them: name -> (context arg, msgid arg, plural arg)
KEYWORDS = {
    "_": (None, 0, None),
    "gettext": (None, 0, None),
    "gettext_lazy": (None, 0, None),
    "gettext_noop": (None, 0, None),
    "ngettext": (None, 0, 1),
    "ngettext_lazy": (None, 0, 1),
    "pgettext": (0, 1, None),
    "pgettext_lazy": (0, 1, None),
    "npgettext": (0, 1, 2),
    "npgettext_lazy": (0, 1, 2),
}


def source_files(suffix: str) -> list[Path]:
    return sorted(p for p in PACKAGE.rglob(f"*{suffix}")
                  if "static" not in p.relative_to(PACKAGE).parts and "__pycache__" not in p.parts)


def python_msgids(path: Path) -> set[tuple[str | None, str]]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name not in KEYWORDS:
            continue
        ctx_i, msg_i, _plural = KEYWORDS[name]
        args = node.args
        if len(args) <= msg_i or not (isinstance(args[msg_i], ast.Constant) and isinstance(args[msg_i].value, str)):
            continue
        ctx = None
        if ctx_i is not None:
            if not (isinstance(args[ctx_i], ast.Constant) and isinstance(args[ctx_i].value, str)):
                continue
            ctx = args[ctx_i].value
        found.add((ctx, args[msg_i].value))
    return found


STRING_LITERAL = re.compile(r"""[uU]?(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")""")
CALL = re.compile(r"\b(" + "|".join(KEYWORDS) + r")\(")


def template_msgids(path: Path) -> set[tuple[str | None, str]]:
    """Django's own templatize() turns {% translate %} and {% blocktranslate %} into gettext calls."""
    code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
    found = set()
    for call in CALL.finditer(code):
        args, pos = [], call.end()
        while pos < len(code) and code[pos] != ")":
            literal = STRING_LITERAL.match(code, pos)
            if literal:
                args.append(ast.literal_eval(literal.group()))
                pos = literal.end()
            else:
                pos += 1
        ctx_i, msg_i, _plural = KEYWORDS[call.group(1)]
        if len(args) > msg_i:
            found.add((args[ctx_i] if ctx_i is not None else None, args[msg_i]))
    return found


def test_every_marked_string_is_translated():
    marked: dict[tuple[str | None, str], str] = {}
    for path in source_files(".py"):
        for key in python_msgids(path):
            marked.setdefault(key, str(path.relative_to(PACKAGE)))
    for suffix in (".html", ".txt"):
        for path in source_files(suffix):
            for key in template_msgids(path):
                marked.setdefault(key, str(path.relative_to(PACKAGE)))
    assert ("", "") not in marked
    assert (None, "Log in") in marked, "the collector found nothing; is it broken?"
    catalogue = {e.key: e for e in messages(read_po(ZH_PO))}
    missing = sorted(f"{where}: {key[1]!r}" for key, where in marked.items() if key not in catalogue)
    assert not missing, "run makemessages and translate the new strings:\n" + "\n".join(missing)


def test_makemessages_would_not_change_the_catalogue(tmp_path, settings, monkeypatch):
    """The real extractor (xgettext) on a copy of the package: nothing new, nothing stale, nothing fuzzy."""
    tools = ["xgettext", "msguniq", "msgmerge", "msgattrib"]
    absent = [t for t in tools if shutil.which(t) is None]
    if absent:
        message = f"GNU gettext tools missing: {', '.join(absent)}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)

    def ignore(directory, names):
        rel = Path(directory).relative_to(PACKAGE).parts
        keep_all = rel[:1] == ("locale",)
        return [n for n in names
                if n in {"static", "__pycache__", "node_modules"}
                or (not keep_all and Path(directory, n).is_file()
                    and Path(n).suffix not in {".py", ".html", ".txt"})]

    copy = tmp_path / "townbrain"
    shutil.copytree(PACKAGE, copy, ignore=ignore)
    settings.LOCALE_PATHS = [copy / "locale"]
    monkeypatch.chdir(copy)
    call_command("makemessages", locale=["zh_Hans"], no_obsolete=True, ignore_patterns=["static/*"],
                 verbosity=0)

    fresh = read_po(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")
    committed = {e.key for e in messages(read_po(ZH_PO))}
    extracted = {e.key for e in messages(fresh)}
    new = sorted(m for _c, m in extracted - committed)
    stale = sorted(m for _c, m in committed - extracted)
    assert not new, "new strings; run makemessages and translate them:\n" + "\n".join(new)
    assert not stale, "stale strings; run makemessages --no-obsolete:\n" + "\n".join(stale)
    assert untranslated_or_fuzzy(messages(fresh)) == []


# -- (d) the running site speaks Chinese by default, English on request -------------------------

@pytest.mark.django_db
def test_login_page_is_chinese_by_default(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-CN">' in html
    assert "登录" in html
    assert "用户名" in html
    assert "Log in" not in html


@pytest.mark.django_db
def test_login_page_is_english_with_the_language_cookie(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/accounts/login/")
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Log in" in html
    assert "User name" in html
    assert "登录" not in html


@pytest.mark.django_db
def test_login_page_follows_accept_language(client):
    html = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9").content.decode()
    assert "Log in" in html


# -- the agreed vocabulary (docs: DOMAIN.md) -------------------------------------------------------

GLOSSARY = {
    "Org unit": "行政单元",
    "Division code": "区划代码",
    "Town": "乡镇",
    "Sub-district (街道)": "街道",
    "Office administrator": "单位管理员",
    "System administrator": "系统管理员",
    "Editor": "填报员",
    "Viewer": "查阅员",
    "Expert": "专家",
    "Audit log": "操作日志",
    "My area": "我的辖区",
}


def test_key_terms_use_the_programme_offices_words():
    with translation.override("zh-hans"):
        got = {msgid: translation.gettext(msgid) for msgid in GLOSSARY}
    assert got == GLOSSARY
