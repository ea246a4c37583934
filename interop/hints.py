"""What a person who opens ``/sru`` or ``/oai`` in a browser gets besides the XML.

Before the root element of every answer: an ``xml-stylesheet`` processing instruction naming our own XSLT
(static/interop/sru.xsl, oai.xsl: the answer as a readable page, Chinese first with English) and a comment
naming the page that explains the interfaces (``/opendata``), which a browser without XSLT shows at the top of
its XML view.  Both are outside the root element, so XML parsers (harvesters, SRU clients, pymarc) skip them.
"""

from django.conf import settings
from django.templatetags.static import static
from lxml import etree


def opendata_url() -> str:
    """The page for people (``/opendata``), absolute as the records' own links (``SITE_URL`` + path)."""
    return f"{settings.SITE_URL}/opendata"


def add(root: etree._Element, stylesheet: str, interface: str) -> None:
    """Put the stylesheet (a path under the static files) and the explaining comment before ``root``."""
    page = opendata_url()
    name = settings.LIBRARY_NAME
    text = (f" {name}的 {interface} 接口，供图书馆系统使用；说明见 {page} "
            f"/ The {interface} interface of {name}, for library systems; see {page} ")
    text = text.replace("--", "- -")  # "--" may not appear inside an XML comment
    root.addprevious(etree.ProcessingInstruction("xml-stylesheet", f'type="text/xsl" href="{static(stylesheet)}"'))
    root.addprevious(etree.Comment(text))
