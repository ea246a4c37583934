"""Rules for text that must stay on one line: titles, names, places.

A line break in a title breaks every format that is line-based (an iCalendar content line, a CSV
row, an e-mail header), so single-line fields refuse every C0 and C1 control character (CR, LF and
tab included), DEL, and the Unicode line and paragraph separators (U+2028, U+2029).  Used by the
API's schema types, model field validators and the web forms alike; imports nothing but Django.
"""

import re

from django.core.exceptions import ValidationError

#: Anything that ends a line or is invisible control: C0, DEL, C1 (NEL U+0085 among them), U+2028, U+2029.
NOT_IN_A_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MESSAGE = "须为单行文字，不能包含换行或控制字符 (must be a single line without control characters)"


def is_single_line(value: str) -> bool:
    return NOT_IN_A_LINE.search(value or "") is None


def validate_single_line(value: str) -> None:
    """A Django field validator."""
    if not is_single_line(value):
        raise ValidationError(MESSAGE, code="not_single_line")


def one_line(value: str) -> str:
    """``value`` made single-line for output: each run of breaks and controls becomes one space."""
    return re.sub(r"\s*" + NOT_IN_A_LINE.pattern + r"+\s*", " ", value or "").strip()
