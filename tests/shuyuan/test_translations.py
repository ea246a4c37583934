"""The English catalog is complete: every message of the code and templates has an English text, none of them
a guess gettext made (a "fuzzy" entry is shown untranslated — or worse, as another message's text: the
desk's refusal once read "Line %(n)s: …")."""

import re
from pathlib import Path

CATALOG = Path(__file__).resolve().parents[2] / "locale" / "en" / "LC_MESSAGES" / "django.po"


def entries() -> list[dict[str, str]]:
    """The catalog's entries: flags and each keyword's text, continuation lines joined."""
    found = []
    for block in CATALOG.read_text(encoding="utf-8").split("\n\n"):
        entry, key = {"flags": ""}, None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] += line
            elif line.startswith("#"):
                continue
            elif match := re.match(r'^(msgid|msgid_plural|msgctxt|msgstr(?:\[\d+\])?) "(.*)"$', line):
                key = match.group(1)
                entry[key] = match.group(2)
            elif line.startswith('"') and key:
                entry[key] += line[1:-1]
        if "msgid" in entry:
            found.append(entry)
    return found


def test_every_message_has_an_english_text_and_none_is_fuzzy():
    messages = [e for e in entries() if e["msgid"]]  # the header's msgid is empty
    assert len(messages) > 500
    untranslated = [e["msgid"] for e in messages if not any(v for k, v in e.items() if k.startswith("msgstr"))]
    fuzzy = [e["msgid"] for e in messages if "fuzzy" in e["flags"]]
    assert untranslated == [] and fuzzy == []


def test_the_compiled_catalog_says_what_the_source_says():
    """django.mo is committed beside django.po: a message edited in one and not compiled into the other would
    show the old text (or Chinese) on English pages."""
    import ast
    import gettext

    with CATALOG.with_suffix(".mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)

    def text(po_string: str) -> str:
        return ast.literal_eval(f'"{po_string}"')

    differing = []
    for entry in entries():
        if not entry["msgid"] or "msgid_plural" in entry:
            continue
        msgid, msgstr = text(entry["msgid"]), text(entry["msgstr"])
        found = compiled.pgettext(text(entry["msgctxt"]), msgid) if "msgctxt" in entry else compiled.gettext(msgid)
        if found != msgstr:
            differing.append((msgid, found, msgstr))
    assert differing == []
