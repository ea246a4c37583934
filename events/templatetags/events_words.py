"""Template filters of the events pages: a recurrence rule in the words organizers chose it by."""

from django import template

from events.recurrence import rule_in_words

register = template.Library()


@register.filter
def rule_words(rrule: str) -> str:
    """``FREQ=WEEKLY;BYDAY=WE;COUNT=8`` → 每星期三，共 8 次 (the rule itself when it has no plain words)."""
    return rule_in_words(rrule)
