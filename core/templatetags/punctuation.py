"""Punctuation that follows the page's language: Chinese pages use full-width marks (主题：…、（…）), English pages
half-width ones with spaces (Subjects: …, (…)).  ``{% load punctuation %}``, then ``{% colon %}`` after a label,
``{{ value|parens }}`` for a remark in brackets, ``{{ list|enum }}`` or ``{% enum_sep %}`` for a list written out
(``{% semicolon %}`` between items with commas of their own),
``{{ instant|when }}`` for a date with its weekday and time."""

from django import template
from django.template.defaultfilters import date as date_filter
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

register = template.Library()


def _chinese() -> bool:
    return (get_language() or "zh-hans").startswith("zh")


@register.simple_tag
def colon() -> str:
    return "：" if _chinese() else ": "


@register.simple_tag
def enum_sep() -> str:
    """Between the items of a list written out: 、 in Chinese, ", " in English."""
    return "、" if _chinese() else ", "


@register.simple_tag
def comma() -> str:
    """Between two clauses: ， in Chinese, ", " in English."""
    return "，" if _chinese() else ", "


@register.simple_tag
def semicolon() -> str:
    """Between items that may hold commas themselves (titles): ； in Chinese, "; " in English."""
    return "；" if _chinese() else "; "


@register.simple_tag
def name_sep() -> str:
    """Between people's names: 、 in Chinese, "; " in English (a name written "Family, Given" has a comma)."""
    return "、" if _chinese() else "; "


@register.filter(needs_autoescape=True)
def enum(values, autoescape: bool = True) -> str:
    """A list written out: 担保、抵押 or "security, mortgage"."""
    items = [conditional_escape(v) if autoescape else str(v) for v in values or []]
    return mark_safe(enum_sep().join(items))


@register.filter(needs_autoescape=True)
def parens(value, autoescape: bool = True) -> str:
    """``value`` in brackets: （value） or " (value)"; nothing for an empty value."""
    if value in (None, ""):
        return ""
    text = conditional_escape(value) if autoescape else value
    return format_html("（{}）", text) if _chinese() else format_html(" ({})", text)


@register.filter(expects_localtime=True)
def when(value) -> str:
    """A date with its weekday and time: 2026-12-16（三）18:30 or 2026-12-16 (Wed) 18:30, in library time (as
    ``date`` does: an instant read from the database is in UTC, and the manage page showed 10:14 for 18:14)."""
    if not value:
        return ""
    return date_filter(value, "Y-m-d（D）H:i" if _chinese() else "Y-m-d (D) H:i")
