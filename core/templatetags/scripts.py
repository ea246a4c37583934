"""Which script a text is written in, for ``lang`` attributes: a title in Mongolian script is marked
``lang="mn"`` so it is drawn with the shipped Noto Sans Mongolian (static/vendor/) and, on its own, vertically."""

import re

from django import template

register = template.Library()

#: The Mongolian block (traditional script, Todo, Manchu); U+202F NNBSP joins suffixes inside a word.
MONGOLIAN = re.compile("[\u1800-\u18af]")


@register.filter
def script_lang(text) -> str:
    """"mn" for a text in Mongolian script, else "" (the page's language applies)."""
    return "mn" if text and MONGOLIAN.search(str(text)) else ""
