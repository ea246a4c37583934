"""Input types shared by every app's schemas."""

from typing import Annotated

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from core.text import (
    CONTROL_MESSAGE,
    HIDDEN_MESSAGE,
    MESSAGE,
    has_control_characters,
    has_hidden_characters,
    has_visible_text,
    is_single_line,
)


def no_control_chars(value: str) -> str:
    if has_control_characters(value):
        raise ValueError(str(CONTROL_MESSAGE))
    return value


#: A row id as a client sends it: positive and inside a signed 64-bit integer, the widest primary key, so
#: an id no row can have is a 422 naming the field rather than an overflow in the database driver (SQLite
#: raises OverflowError for a foreign key compared with a larger integer).
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


def Text(max_length: int, min_length: int = 0):  # noqa: N802 - a type factory, used like a type
    """A stripped string of bounded length without control characters."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=max_length, min_length=min_length),
        AfterValidator(no_control_chars),
    ]


def single_line(value: str) -> str:
    if not is_single_line(value):
        raise ValueError(str(MESSAGE))
    return value


def SingleLine(max_length: int, min_length: int = 0):  # noqa: N802 - a type factory, used like a type
    """A stripped one-line string of bounded length: titles, names, places, codes.

    Refuses line breaks (CR, LF, U+2028/2029), tabs and every other C0/C1 control character, so
    nothing line-based downstream (iCalendar, CSV, e-mail headers) can be broken by a stored value.
    Multi-line text (descriptions, notes, abstracts) is ``Text``."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=max_length, min_length=min_length),
        AfterValidator(single_line),
    ]


def visible_name(value: str) -> str:
    if value and (has_hidden_characters(value) or not has_visible_text(value)):
        raise ValueError(str(HIDDEN_MESSAGE))
    return value


def VisibleName(max_length: int, min_length: int = 0):  # noqa: N802 - a type factory, used like a type
    """A ``SingleLine`` that people pick things by (a calendar link's name): visible text only — no format
    character such as a bidi override (U+202E) or a zero-width space (U+200B), no invisible filler."""
    return Annotated[SingleLine(max_length, min_length), AfterValidator(visible_name)]


class StrictSchema(Schema):
    """An input schema that rejects unknown keys."""

    model_config = ConfigDict(extra="forbid")
