"""Plain text from a MediaWiki XML dump: the articles of the shortened English Wikipedia dump in
gensim's test data, registered as the corpus ``enwiki_text``.

``wiki_plain_text`` keeps the prose of every article (namespace 0, not a redirect): templates
``{{...}}``, tables, references, comments, HTML tags, files, categories and interlanguage links
are dropped; ``[[target|label]]`` becomes ``label``, ``[url label]`` becomes ``label``; headings,
bold/italic quotes and list markers are removed. One paragraph per line, articles separated by a
blank line.
"""

from __future__ import annotations

import bz2
import html
import io
import re
import xml.etree.ElementTree as ElementTree

from rnnjax.validation import fail

_WHERE = "wiki_plain_text"
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_REF = re.compile(r"<ref[^>]*?/>|<ref[^>]*?>.*?</ref>", re.S | re.I)
_BLOCK_TAGS = re.compile(r"<(math|gallery|timeline|score|syntaxhighlight|source|pre|nowiki)\b"
                         r"[^>]*>.*?</\1>", re.S | re.I)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")  # innermost template, removed until none is left
_TABLE = re.compile(r"\{\|[^{}]*?\|\}", re.S)  # innermost table
_LINK = re.compile(r"\[\[([^\[\]|]*)(?:\|([^\[\]]*))?\]\]")  # innermost [[target|label]]
_EXTERNAL = re.compile(r"\[(?:https?:|ftp:)?//[^\s\]]+(?:\s+([^\]]*))?\]")
_URL = re.compile(r"https?://\S+")
_HEADING = re.compile(r"^=+\s*(.*?)\s*=+\s*$", re.M)
_QUOTES = re.compile(r"'{2,}")
_NAMESPACE = re.compile(r"^\s*:?\s*([A-Za-z][A-Za-z-]*)\s*:")
# Links into these namespaces (and interlanguage links, e.g. [[de:...]]) carry no article prose.
_DROPPED_NAMESPACES = {"file", "image", "category", "media", "wikipedia", "wp", "help",
                       "template", "portal", "special", "user", "talk", "wiktionary"}


def _strip_innermost(pattern: re.Pattern, text: str, replacement="") -> str:
    while True:
        text, count = pattern.subn(replacement, text)
        if not count:
            return text


def _link(match: re.Match) -> str:
    target, label = match.group(1), match.group(2)
    namespace = _NAMESPACE.match(target)
    if namespace and (namespace.group(1).lower() in _DROPPED_NAMESPACES
                      or (len(namespace.group(1)) <= 3 and namespace.group(1).islower())):
        return ""  # a file, a category or an interlanguage link ([[de:Anarchismus]])
    return label if label is not None else target


def markup_to_text(markup: str) -> str:
    """The prose of one article's wiki markup: one paragraph per line."""
    text = _COMMENT.sub("", html.unescape(markup))
    text = _BLOCK_TAGS.sub("", _REF.sub("", text))
    text = _strip_innermost(_TEMPLATE, text)
    text = _strip_innermost(_TABLE, text)
    text = _strip_innermost(_LINK, text, _link)
    text = _URL.sub("", _EXTERNAL.sub(lambda m: m.group(1) or "", text))
    text = _QUOTES.sub("", _HEADING.sub(r"\1", _TAG.sub("", text)))
    paragraphs = []
    for line in text.split("\n"):
        line = line.strip().lstrip("*#:;").strip()
        if line and not line.startswith(("{|", "|", "!")):
            paragraphs.append(" ".join(line.split()))
    return "\n".join(paragraphs)


def wiki_plain_text(xml: bytes, source: str) -> str:
    """The articles of a MediaWiki XML dump (``xml``, bz2-compressed or not) as plain text."""
    if xml[:3] == b"BZh":
        xml = bz2.decompress(xml)
    articles = []
    try:
        for _, element in ElementTree.iterparse(io.BytesIO(xml)):
            if not element.tag.endswith("}page") and element.tag != "page":
                continue
            fields = {child.tag.rpartition("}")[2]: child for child in element.iter()}
            markup = fields["text"].text if "text" in fields else None
            if (fields.get("ns") is not None and fields["ns"].text == "0" and markup
                    and not markup.lstrip().upper().startswith("#REDIRECT")):
                text = markup_to_text(markup)
                if text:
                    articles.append(text)
            element.clear()
    except ElementTree.ParseError as err:
        fail(_WHERE, source, "a MediaWiki XML dump", f"invalid XML ({err})")
    if not articles:
        fail(_WHERE, source, "a MediaWiki XML dump with at least one article", "none")
    return "\n\n".join(articles) + "\n"
