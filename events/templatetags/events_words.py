"""Template filters of the events pages: a recurrence rule in the words organizers chose it by."""

from django import template

from events.recurrence import rule_in_words

register = template.Library()


@register.filter
def rule_words(value) -> str:
    """An event (anything with ``rrule`` and ``start``) → 每周三 19:00，共 8 次; a rule alone → 每周三，共 8 次
    (no time).  Never the RRULE itself: a shape without plain words reads 按自定义规则重复."""
    if hasattr(value, "rrule"):
        return rule_in_words(value.rrule, getattr(value, "start", None))
    return rule_in_words(value or "")
