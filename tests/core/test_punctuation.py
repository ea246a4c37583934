"""People's names are separated with 、 in Chinese and "; " in English (a name may be "Family, Given")."""

from django.template import Context, Template
from django.utils import translation

NAMES = Template('{% load punctuation %}{% for n in names %}{{ n }}{% if not forloop.last %}{% name_sep %}{% endif %}'
                 '{% endfor %}')


def test_names_are_joined_with_a_semicolon_in_english_and_a_dunhao_in_chinese():
    names = ["Buĭda, I︠U︡riĭ", "Deer-Doe, Jane"]
    with translation.override("en"):
        english = NAMES.render(Context({"names": names}))
    with translation.override("zh-hans"):
        chinese = NAMES.render(Context({"names": names}))

    assert (english, chinese) == ("Buĭda, I︠U︡riĭ; Deer-Doe, Jane", "Buĭda, I︠U︡riĭ、Deer-Doe, Jane")
