"""Rules for text that must stay on one line: titles, names, places.

A line break in a title breaks every format that is line-based (an iCalendar content line, a CSV
row, an e-mail header), so single-line fields refuse every C0 and C1 control character (CR, LF and
tab included), DEL, and the Unicode line and paragraph separators (U+2028, U+2029).  Used by the
API's schema types, model field validators and the web forms alike; imports nothing but Django.
"""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

#: Anything that ends a line or is invisible control: C0, DEL, C1 (NEL U+0085 among them), U+2028, U+2029.
NOT_IN_A_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MESSAGE = _("须为单行文字，不能包含换行或控制字符")


def is_single_line(value: str) -> bool:
    return NOT_IN_A_LINE.search(value or "") is None


def validate_single_line(value: str) -> None:
    """A Django field validator."""
    if not is_single_line(value):
        raise ValidationError(MESSAGE, code="not_single_line")


#: C0 control characters other than tab, line feed and carriage return, and DEL: refused in every text a person
#: types (PostgreSQL cannot store NUL at all, and none of them belongs in a title, a name or a query), by the
#: API's ``Text`` type and by the pages' forms alike, with this one message.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONTROL_MESSAGE = _("不能包含控制字符")


def has_control_characters(value: str) -> bool:
    return CONTROL.search(value or "") is not None


def validate_no_control_characters(value: str) -> None:
    """A Django field validator: the rule of the API's ``Text`` fields (``core.schema_types``)."""
    if has_control_characters(value):
        raise ValidationError(CONTROL_MESSAGE, code="control_characters")


#: Characters that draw nothing but are not format characters (Unicode's default-ignorable fillers, the
#: combining grapheme joiner, variation selectors, Braille blank): "院本部" + any of them looked like 院本部.
INVISIBLE_FILLERS = re.compile("[\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0\ufe00-\ufe0f\U000e0100-\U000e01ef]")
HIDDEN_MESSAGE = _("不能含不可见字符或方向控制符")


def has_visible_text(value: str) -> bool:
    """True when the text has a letter, digit, punctuation mark or symbol (not only spaces or format marks)."""
    return any(unicodedata.category(ch)[0] in "LNPS" for ch in value or "")


def has_hidden_characters(value: str) -> bool:
    """True when a name shown to people could read as something it is not: a format character (Unicode
    category Cf — bidi overrides such as U+202E that reverse what follows, zero-width spaces and joiners,
    the BOM), an invisible filler (``INVISIBLE_FILLERS``), or a combining mark to begin with."""
    return bool(value) and (INVISIBLE_FILLERS.search(value) is not None
                            or unicodedata.category(value[0]) == "Mn"
                            or any(unicodedata.category(ch) == "Cf" for ch in value))


def validate_visible_name(value: str) -> None:
    """A Django field validator for names people pick things by (places, calendar links): visible text,
    nothing hidden (``has_hidden_characters``)."""
    if value and (has_hidden_characters(value) or not has_visible_text(value)):
        raise ValidationError(HIDDEN_MESSAGE, code="hidden_characters")


#: Controls that separate (line and paragraph breaks, tab, vertical tab, form feed, the information
#: separators FS/GS/RS/US, NEL, U+2028, U+2029): in ``one_line`` each run of them becomes a space.
_BREAKS = r"[\t\n\x0b\x0c\r\x1c-\x1f\x85\u2028\u2029]"
#: Every other control character of ``NOT_IN_A_LINE``: invisible, so ``one_line`` drops it.
_INVISIBLE = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")
_BREAK_RUN = re.compile(r"\s*" + _BREAKS + r"\s*")


def one_line(value: str) -> str:
    """``value`` folded onto one line, for text that is taken rather than refused (imports) and for
    output (feeds): invisible controls (ESC, NUL, C1 …) are dropped, and each run of line breaks and
    tabs, with the spaces around it, becomes one space.  Other runs of spaces are kept."""
    return _BREAK_RUN.sub(" ", _INVISIBLE.sub("", value or "")).strip()


class SingleLineFields:
    """A model mixin (``class Book(SingleLineFields, models.Model)``): ``clean_fields`` also applies the
    single-line rule to the fields named in ``SINGLE_LINE``, skipping ``exclude`` as Django does (a model
    form excludes the fields it does not show), so the admin's forms report the field by name.

    For models whose fields do not carry ``validate_single_line`` as a field validator: Django records
    field validators in migrations, and this check needs none."""

    SINGLE_LINE: tuple[str, ...] = ()

    def clean_fields(self, exclude=None) -> None:
        errors: dict = {}
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        for name in self.SINGLE_LINE:
            if (exclude and name in exclude) or name in errors:
                continue
            value = getattr(self, name)
            if isinstance(value, str) and not is_single_line(value):
                errors[name] = [ValidationError(MESSAGE, code="not_single_line")]
        if errors:
            raise ValidationError(errors)


# --- spreadsheet cells ---------------------------------------------------------------------------------

# A spreadsheet runs a cell that starts with one of these as a formula.  The exporters prefix such
# cells with one "'" (and add one to cells already written that way, so the round trip is lossless);
# the importer removes exactly one.
FORMULA_RE = re.compile(r"^'*[=+\-@\t\r]")


def neutralize_cell(text: str) -> str:
    """Make ``text`` safe to open in a spreadsheet: ``=1+1`` → ``'=1+1``."""
    return "'" + text if FORMULA_RE.match(text) else text


def restore_cell(text: str) -> str:
    """Undo ``neutralize_cell``: ``'=1+1`` → ``=1+1``; any other text is returned unchanged."""
    return text[1:] if text.startswith("'") and FORMULA_RE.match(text) else text


def as_id(value: str | None) -> int | None:
    """A database id typed into a form or a query string: ASCII digits within a 64-bit key, else None
    ("²" is a digit to str.isdigit() and not to int(); 30 digits overflow SQLite's integers)."""
    value = (value or "").strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        return None
    number = int(value)
    return number if 1 <= number < 2**63 else None
