"""Validation and normalization of ISBNs, CLC classes and barcodes."""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum import isbn as stdnum_isbn
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength
from stdnum.exceptions import ValidationError as StdnumError

from core.text import has_hidden_characters, has_visible_text
from library.classification import fold_code

#: What may stand before an ISBN: "ISBN", "ISBN-13", "ISBN:" ("ISBN：" once NFKC-folded), "URN:ISBN:".
ISBN_LABEL = r"(?:URN:)?ISBN(?:-1[03])?:?"
ISBN_PREFIX_RE = re.compile(rf"^{ISBN_LABEL}\s*", re.IGNORECASE)
#: Dashes written between an ISBN's groups that NFKC leaves as they are (hyphen, non-breaking hyphen once
#: folded, figure dash, en and em dash, horizontal bar, minus sign): read as "-".
ISBN_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"))
#: A text that is one ISBN and nothing else once folded and its label removed: 10 to 13 digits (an ISBN-10's
#: last may be X) with hyphens or spaces between them.
_ISBN_ALONE_RE = re.compile(r"[0-9](?:[\s-]*[0-9]){8,11}[\s-]*[0-9X]", re.IGNORECASE)


def fold_isbn(text: str) -> str:
    """An ISBN as written, folded the one way every reader of ISBNs folds it (the catalogue's validation, the
    importers, the search index and its queries): NFKC (full-width digits, ``ＩＳＢＮ``, ``－`` and ``：``
    half-width) and every dash as ``-``; same length as ``text`` when NFKC keeps it (offsets stay valid)."""
    return unicodedata.normalize("NFKC", text or "").translate(ISBN_DASHES)


def isbn13_of(text: str) -> str | None:
    """The ISBN-13 of a text that is one valid ISBN and nothing else, in any form it is written (``ISBN``
    label, hyphens, spaces, full-width, ISBN-10); None for any other text (a search query that is not an ISBN
    is searched as words)."""
    folded = ISBN_PREFIX_RE.sub("", fold_isbn(text).strip(), count=1).strip()
    if not _ISBN_ALONE_RE.fullmatch(folded):
        return None
    try:
        return stdnum_isbn.to_isbn13(stdnum_isbn.validate(re.sub(r"[\s-]", "", folded)))
    except StdnumError:
        return None
#: An ISBN's shape: 13 digits, or 9 digits and a digit or X, each digit followed by at most one hyphen or space,
#: and no further digit or X after it.
ISBN_SHAPE_RE = re.compile(r"(?:\d[- ]?){12}\d(?![\dX])|(?:\d[- ]?){9}[\dX](?![\dX])", re.IGNORECASE)


def isbn_token(text: str) -> str:
    """The ISBN a field begins with, as written (NFKC-folded), or "" when it begins with none: the one rule by
    which every reader finds an ISBN by its shape — "978-7-301-04815-3" of MARC's "ISBN 978-7-301-04815-3 (pbk.)"
    or "7-301-04815-7 : CNY45.00", of Dublin Core's "URN:ISBN:…".  Whether it is a valid ISBN (its check
    digit) is ``normalize_isbn``'s question, asked of it like of any ISBN typed (docs/design.md, Catalog)."""
    text = ISBN_PREFIX_RE.sub("", fold_isbn(text).strip(), count=1)
    match = ISBN_SHAPE_RE.match(text)
    return match[0] if match else ""


def normalize_isbn(value: str) -> str:
    """Return the ISBN-13 form (digits only) of an ISBN-10 or ISBN-13 written with or without hyphens/spaces.

    Raises ValidationError with a reason a librarian understands.
    """
    text = ISBN_PREFIX_RE.sub("", fold_isbn(value).strip(), count=1)
    try:
        return stdnum_isbn.to_isbn13(stdnum_isbn.validate(text))
    except InvalidChecksum:
        raise ValidationError(_("ISBN 校验位错误：%(value)s"), code="isbn_checksum", params={"value": value}) from None
    except InvalidLength:
        raise ValidationError(_("ISBN 应为 10 位或 13 位：%(value)s"), code="isbn_length", params={"value": value}) from None
    except (InvalidFormat, InvalidComponent, StdnumError):
        raise ValidationError(_("ISBN 格式错误：%(value)s"), code="isbn_format", params={"value": value}) from None


def format_isbn(isbn13: str) -> str:
    """Hyphenate a normalized ISBN-13 for display (978-7-…)."""
    try:
        return stdnum_isbn.format(isbn13)
    except StdnumError:
        return isbn13


# 中国图书馆分类法: a main class letter (T has a second letter for its
# subclasses, e.g. TP), digits with optional dot groups (D923.2), then optional
# auxiliary notations: -44 (general), =49 (period), (235) (region),
# "6" (ethnic), <…> and :… combinations.
_CLC_MAIN = "ABCDEFGHIJKNOPQRSTUVXZ"
CLC_RE = re.compile(
    r"^(?:T[BDEFGHJKLMNPQSUV]?|[" + _CLC_MAIN.replace("T", "") + r"])"
    r"(?:\d+(?:\.\d+)*)?"
    r"(?:(?:-\d+(?:\.\d+)*)|(?:=\d+(?:\.\d+)*)|(?:\(\d+(?:\.\d+)*\))|(?:\"\d+\")|(?:<\d+>)|(?::[A-Z]+\d*(?:\.\d+)*))*$"
)


def normalize_clc(value: str) -> str:
    """Upper-case, half-width, no spaces (``classification.fold_code``: ``Ｄ９２３．２`` and ``D923。2`` are D923.2);
    raises ValidationError unless it is a CLC class such as D923.2."""
    text = fold_code(value)
    if not CLC_RE.match(text):
        raise ValidationError(
            _("中图法分类号格式错误（应如 D923.2）：%(value)s"), code="clc_format", params={"value": value}
        )
    return text


def normalize_place_name(value: str) -> str:
    """Full-width letters and spaces folded (ＭＡＩＮ → MAIN), runs of spaces one space, trimmed."""
    return " ".join(unicodedata.normalize("NFKC", value or "").split())


def validate_place_name(value: str) -> None:
    """A location's name is shown to readers, on slips and in the desk's choices: visible text only, without
    format or invisible characters (a zero-width space or a Hangul filler made "院本部…" look like 院本部; a bidi
    override reversed names), not starting with a combining mark."""
    if value and (not has_visible_text(value) or has_hidden_characters(value)):
        raise ValidationError(_("馆藏地名称不能含不可见字符或方向控制符"), code="invalid_place_name")


def validate_weekdays(value: str) -> None:
    """Opening days as ISO weekday digits, each once: "12345", "24"."""
    if not value or any(ch not in "1234567" for ch in value) or len(set(value)) != len(value):
        raise ValidationError(_("开放日应为 1–7 的数字，各出现一次，例如 12345"), code="invalid_weekdays")


BARCODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


def normalize_barcode(value: str) -> str:
    """Half-width, upper-case, stripped: ``ｆｇ０１`` and ``fg01`` are the barcode ``FG01``."""
    text = unicodedata.normalize("NFKC", value or "").strip().upper()
    if not BARCODE_RE.match(text):
        raise ValidationError(
            _("条码只能包含字母、数字、点、下划线和连字符，最长 32 位：%(value)s"),
            code="barcode_format",
            params={"value": value},
        )
    return text
