"""HTML to text as a reader sees the page: the main content in blocks, with its headings.

Why a walk of our own over BeautifulSoup's tree rather than `get_text()`: inline elements
(`<code>`, `<em>`, `<a>`, keycaps, menu names) belong to the sentence around them, so their text
is joined as written — `<b>Alt</b>+<b>Tab</b>` reads `Alt+Tab` — while block elements are
paragraphs; splitting at every element cut commands and menu paths out of their sentences.
Page furniture (navigation, site headers and footers, breadcrumbs, tables of contents,
previous/next links) is dropped by structure: elements and landmark roles that declare it, the
page's header, footer and asides when the page marks its main content apart, and elements whose
class or id names furniture *and* that is a link list or bar (`_link_dense`). A class word
alone drops nothing: DocBook's boxed notes are `div.sidebar`, Sphinx gives a definition the id
`confval-toc_…`, a ReadTheDocs theme wraps the whole page in `wy-grid-for-nav`.
`benchmarks/retention.py` measures what this keeps on the pages of sixteen generators.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, NavigableString, Tag

from vectorstore.readers.structured_text import CELL_SEPARATOR, ParsedText, TextBuilder, collapse

# elements that are never text of the page: code, drawings, embedded objects, forms, navigation
_DROP_TAGS = {"script", "style", "noscript", "template", "svg", "nav", "head", "form", "button",
              "select", "iframe", "object", "canvas", "map"}
_DROP_ROLES = {"navigation", "search", "menu", "menubar"}
# the page's own parts, furniture when they lie outside the main content the page marks
_PAGE_TAGS = {"header", "footer", "aside"}
_PAGE_ROLES = {"banner", "contentinfo", "complementary"}
# class or id words of page furniture in common site generators (DocBook, Publican, Sphinx,
# MkDocs, WordPress); a word ending in "nav" is one too ("docnav", "subnav", "topnav"). They drop
# an element only when it is a link list or bar (`_link_dense`).
_DROP_NAMES = re.compile(
    r"(?:^|[-_ ])(\w*nav|navbar|navheader|navfooter|navigation|breadcrumbs?|toc|sidebar|"
    r"sphinxsidebar|related|skip|pagination|pager|footer|header|masthead|banner|menu|cookie|"
    r"share|social|advert|ads)(?:$|[-_ ])", re.I)
_LINK_SHARE = 0.5  # of an element's letters and digits in links: a link list, not prose
_PROSE_WORDS = 12  # words outside links that make an element with links more than a link bar
# a heading's permalink: a link within the page whose text is only a sign (Sphinx and MkDocs
# write "¶", others "#", "§" or a link symbol); it would end every heading and title
_PERMALINK_TEXT = re.compile(r"^[^\w\s]{1,3}$")
_BLOCK_TAGS = {"address", "article", "blockquote", "body", "caption", "center", "dd", "details",
               "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "hgroup", "hr",
               "html", "legend", "li", "main", "ol", "p", "section", "summary", "ul"}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}


def parse_html(markup: str) -> ParsedText:
    soup = BeautifulSoup(markup, "html.parser")
    title_tag = soup.title.get_text(" ", strip=True) if soup.title else None
    date = _meta_date(soup)
    description = _meta(soup, "description")
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    main = soup.find("main") or soup.find(attrs={"role": "main"}) or soup.find("article")
    heading = soup.find("h1")
    for tag in soup.find_all(lambda t: _is_furniture(t, main)):
        if tag.decomposed:
            continue
        if heading is not None and heading in tag.descendants:
            tag.replace_with(heading)  # the page's title, in a header that is furniture
        else:
            tag.decompose()
    root = main or soup.body or soup
    walker = _Walker()
    walker.walk(root)
    walker.flush()
    first_heading = walker.builder.headings[0].title if walker.builder.headings else None
    return walker.builder.build(title=first_heading or title_tag, date=date,
                                description=description)


def _is_furniture(tag: Tag, main: Tag | None) -> bool:
    if tag.name in _DROP_TAGS or (tag.get("role") or "") in _DROP_ROLES:
        return True
    if tag.name == "a" and str(tag.get("href") or "").startswith("#") \
            and _PERMALINK_TEXT.match(tag.get_text(strip=True)):
        return True
    if tag.name in ("html", "body", "main", "article") or tag is main:
        return False
    if tag.get("hidden") is not None or tag.get("aria-hidden") == "true":
        return True
    if main is not None and (tag.name in _PAGE_TAGS or tag.get("role") in _PAGE_ROLES) \
            and main not in tag.parents and tag not in main.parents:
        return True
    names = " ".join(tag.get("class") or []) + " " + str(tag.get("id") or "")
    return bool(_DROP_NAMES.search(names)) and main not in tag.descendants and _link_dense(tag)


def _link_dense(tag: Tag) -> bool:
    """A link list or bar: most of the element's letters and digits are link text, or it holds
    links and hardly a sentence's worth of words besides (a DocBook navigation bar's links are
    arrow images between two section titles). A permalink sign is no link here."""
    links = [a for a in tag.find_all("a") if _alnum(a.get_text()) or a.find("img")]
    linked = sum(_alnum(a.get_text()) for a in links)
    if linked >= _LINK_SHARE * _alnum(tag.get_text()):
        return True
    outside = len(tag.get_text(" ").split()) - sum(len(a.get_text(" ").split()) for a in links)
    return bool(links) and outside < _PROSE_WORDS


def _alnum(text: str) -> int:
    return sum(ch.isalnum() for ch in text)


def _meta(soup: BeautifulSoup, name: str) -> str | None:
    tag = soup.find("meta", attrs={"name": name}) or soup.find("meta", attrs={"property": name})
    return str(tag["content"]) if tag and tag.get("content") else None


def _meta_date(soup: BeautifulSoup) -> str | None:
    for name in ("date", "article:published_time", "dc.date", "DC.date"):
        value = _meta(soup, name)
        if value:
            return value
    return None


class _Walker:
    """Depth-first walk; inline text gathers in `inline` until a block boundary flushes it.

    A definition term (`<dt>`) is held back and put before its definition's first paragraph
    ("Opacity: lower values …"), since the definition alone often does not name what it defines.
    A list item's bullet is held back the same way, for the item's first text: an item whose
    text is in a paragraph of its own (`<li><p>…`, as DocBook and Sphinx write every item) would
    otherwise leave the bullet alone as a paragraph before it.
    """

    def __init__(self) -> None:
        self.builder = TextBuilder()
        self.inline: list[str] = []
        self.term: str | None = None
        self.bullet = False

    def flush(self) -> None:
        text = collapse("".join(self.inline))
        self.inline = []
        if not text:
            return
        if self.bullet:
            text, self.bullet = f"- {text}", False
        if self.term:
            text = f"{self.term}: {text}" if self.term[-1] not in ":.?!" else f"{self.term} {text}"
            self.term = None
        self.builder.block(text)

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, Comment):
                    self.inline.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            self.element(child)

    def element(self, tag: Tag) -> None:
        name = tag.name
        if name in _HEADINGS:
            self.flush()
            self._flush_term()
            self.builder.heading(_HEADINGS[name], _inline_text(tag))
        elif name == "pre":
            self.flush()
            self._flush_term()
            self.builder.lines(tag.get_text())
        elif name == "table":
            self.flush()
            self._table(tag)
        elif name == "br":
            self.inline.append("\n")
        elif name == "img":
            return  # alternative texts repeat captions; a reader of the text does not see them
        elif name == "dt":
            self.flush()
            self._flush_term()
            self.term = _inline_text(tag) or None
        elif name == "li":
            self.flush()
            self.bullet = True
            self.walk(tag)
            self.flush()
            self.bullet = False
        elif name in _BLOCK_TAGS:
            self.flush()
            self.walk(tag)
            self.flush()
        else:
            self.walk(tag)

    def _flush_term(self) -> None:
        if self.term:
            self.builder.block(self.term)
            self.term = None

    def _table(self, table: Tag) -> None:
        """Data tables row by row ("cell | cell"); a table used for layout (a note beside its
        icon, cells holding lists or several paragraphs) is walked like any other block content.
        DocBook writes every cell of a data table as one paragraph (`<td><p>`): still a grid."""
        rows = [[_inline_text(cell) for cell in row.find_all(["th", "td"])]
                for row in table.find_all("tr")]
        rows = [[c for c in cells if c] for cells in rows]
        grid = sum(len(cells) > 1 for cells in rows) >= 2 and not table.find(
            ["ul", "ol", "dl", "pre", "table"]) and all(
            len(cell.find_all(["p", "div"])) <= 1 for cell in table.find_all(["th", "td"]))
        if not grid and table.find(["p", "div", "ul", "ol", "dl", "pre", "table"]):
            self.walk(table)
            self.flush()
            return
        rows = [CELL_SEPARATOR.join(cells) for cells in rows if cells]
        caption = table.find("caption")
        if caption is not None and _inline_text(caption):
            self.builder.block(_inline_text(caption))
        if rows:
            self.builder.lines("\n".join(rows))


def _inline_text(tag: Tag) -> str:
    """An element's text joined as written, whitespace collapsed."""
    return collapse("".join(s for s in tag.strings if not isinstance(s, Comment)))
