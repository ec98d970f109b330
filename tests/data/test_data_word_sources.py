"""The datasets from the gensim wheel: Wikipedia prose (enwiki_text) and the word benchmarks."""

from __future__ import annotations

import bz2
import zipfile
from pathlib import Path

import pytest

from rnnjax.data import load_analogies, load_splits, load_word_pairs, prepare
from rnnjax.data.corpora import ENWIKI_DUMP
from rnnjax.data.wiki import markup_to_text, wiki_plain_text

ARTICLE = """{{Infobox|name=x|{{nested|y}}}}
'''Anarchism''' is a [[political philosophy]] of [[self-governance|self-governed]] \
societies.<ref>{{cite|a}}</ref>
[[File:Flag.svg|thumb|A [[flag]] caption]]
== History ==
* Early [http://example.org thinkers] wrote<!-- hidden --> at http://x.org &amp; more.
{| class="wikitable"
| cell || cell
|}
[[Category:Philosophy]] [[de:Anarchismus]]
"""


def _dump(*pages: tuple[str, str, str]) -> bytes:
    body = "".join(f"<page><title>{title}</title><ns>{ns}</ns><revision><text>{text}</text>"
                   f"</revision></page>" for title, ns, text in pages)
    xml = f'<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/">{body}</mediawiki>'
    return bz2.compress(xml.encode("utf-8"))


def test_markup_to_text_keeps_the_prose():
    text = markup_to_text(ARTICLE)
    assert text.split("\n") == [
        "Anarchism is a political philosophy of self-governed societies.",
        "History",
        "Early thinkers wrote at & more.",
    ]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_wiki_plain_text_skips_redirects_and_other_namespaces():
    dump = _dump(("A", "0", _escape(ARTICLE)), ("B", "0", "#REDIRECT [[A]]"),
                 ("Talk:A", "1", "talk text"), ("C", "0", "Second '''article'''."))
    text = wiki_plain_text(dump, "dump")
    assert text.startswith("Anarchism is") and text.endswith("\n\nSecond article.\n")
    assert "talk text" not in text
    with pytest.raises(ValueError, match="dump must be a MediaWiki XML dump with at least one "
                       "article, got none"):
        wiki_plain_text(_dump(("B", "0", "#REDIRECT [[A]]")), "dump")
    with pytest.raises(ValueError, match="dump must be a MediaWiki XML dump, got invalid XML"):
        wiki_plain_text(b"<mediawiki><page>", "dump")


def test_prepare_both_datasets_from_a_gensim_wheel(tmp_path: Path):
    wheel = tmp_path / "gensim-4.4.0-cp311-cp311-linux_x86_64.whl"
    articles = [(f"T{i}", "0", f"Article {i} says [[word|words]] about things.") for i in range(40)]
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(ENWIKI_DUMP, _dump(*articles))
        zf.writestr("gensim/test/test_data/questions-words.txt", ": s\na b c d\n")
        zf.writestr("gensim/test/test_data/wordsim353.tsv", "# h\na\tb\t1.5\n")
        zf.writestr("gensim/test/test_data/simlex999.txt", "# h\nc\td\t2\n")
    for name in ("enwiki_text", "word_benchmarks"):
        prepare(name, data_dir=tmp_path / "data", archive=wheel, verify=False)
    text = "".join(load_splits("enwiki_text", data_dir=tmp_path / "data").values())
    assert text.startswith("Article 0 says words about things.\n\nArticle 1")
    assert load_analogies(data_dir=tmp_path / "data") == {"s": [("a", "b", "c", "d")]}
    assert load_word_pairs("simlex999", data_dir=tmp_path / "data") == [("c", "d", 2.0)]
    with pytest.raises(FileNotFoundError, match="prepare --corpus=word_benchmarks"):
        load_word_pairs("wordsim353", data_dir=tmp_path / "elsewhere")
