"""Forms of the pages that span apps."""

from django import forms
from django.utils.translation import gettext as _

from core.text import validate_no_control_characters
from search_index import services as search

#: Results on one page of the search page.
PER_PAGE = 20
#: The last page: the API's offset stops at 10,000.
MAX_PAGE = 10_000 // PER_PAGE + 1


class SearchForm(forms.Form):
    """The search page's query string, checked with the same bounds as ``GET /api/v1/search``
    (search_index.schemas.SearchQuery).  A filter that is not valid (a hand-edited URL, ``year=abc``) is
    left out rather than refused, as a catalogue's facet links are; a query that is too long, or holds a control
    character (as the API's ``q``, ``core.text.CONTROL``), is refused."""

    q = forms.CharField(required=False, max_length=2000, strip=False, validators=[validate_no_control_characters])
    type = forms.ChoiceField(required=False, choices=[("book", "book"), ("paper", "paper")])
    language = forms.CharField(required=False, max_length=8)
    year = forms.IntegerField(required=False, min_value=0, max_value=9999)
    clc = forms.CharField(required=False, max_length=32)
    available = forms.ChoiceField(required=False, choices=[("yes", "yes"), ("no", "no")])
    sort = forms.ChoiceField(required=False, choices=[(s, s) for s in ("relevance", "year", "-year", "call_number")])
    #: An article of the law the query names (the article facet's links).
    article = forms.IntegerField(required=False, min_value=1, max_value=10000)
    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE)
    #: 仍要搜索 (the link under an automatic correction): the words as typed, not their correction.
    as_typed = forms.BooleanField(required=False)

    #: The parameters that narrow the results (each one a filter in force when valid).
    FILTERS = ("type", "year", "language", "clc", "available", "article")
    #: The parameters a filter link or the sort keeps when the query changes.
    KEPT = ("type", "year", "language", "clc", "available", "sort")

    def value(self, name: str):
        """The field's valid value, or None (empty or not valid)."""
        if name in self.errors:
            return None
        return self.cleaned_data.get(name) or None

    def query_error(self) -> str | None:
        """Why the query itself is refused, naming it (the API names ``q``), or None."""
        return _("检索词：%(error)s") % {"error": self.errors["q"][0]} if "q" in self.errors else None

    def filters(self, *, include_internal: bool) -> search.Filters:
        filters = search.Filters(include_internal=include_internal)
        filters.type = self.value("type")
        filters.language = self.value("language")
        filters.clc = self.value("clc")
        year = self.value("year")
        if year is not None:
            filters.year_from = filters.year_to = year
        if self.value("available"):
            filters.available = self.value("available") == "yes"
        filters.article = self.value("article")
        return filters

    def page_number(self) -> int:
        return self.value("page") or 1

    def ordering(self) -> str:
        return self.value("sort") or "relevance"

    def kept(self) -> list[tuple[str, str]]:
        """The valid filters and sort, for the hidden inputs of the search box."""
        return [(name, self.data[name]) for name in self.KEPT if self.value(name) is not None]


class BrowseForm(forms.Form):
    """The class a browse page opens at (``?clc=D92``); none: the main classes."""

    clc = forms.CharField(required=False, max_length=32)
