"""XML as uploads bring it (KML, GPX): parsed with every DTD, entity and external reference
refused by the parser itself (defusedxml), and the small walkers the XML readers share.
HTML inside values (KML descriptions) becomes plain text with its line breaks."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from sources.readers.base import UploadError

BLOCK_TAGS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "table"}


class _TextOnly(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.skip:
            self.skip -= 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_to_text(value: str) -> str:
    """Text of an HTML fragment: tags dropped, scripts and styles dropped, breaks kept."""
    if "<" not in value and "&" not in value:
        return value.strip()
    parser = _TextOnly()
    parser.feed(value)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    return re.sub(r"\s*\n\s*", "\n", text).strip()


def parse_xml(raw: bytes, code: str) -> ET.Element:
    """Parse an uploaded XML file (KML, GPX). The parser refuses any DTD, entity declaration or
    external reference where it meets one (no entity bombs, no file or network reads), in every
    encoding expat reads (UTF-8, UTF-16 with its BOM, …); both refusals name the line."""
    parser = DefusedXMLParser(target=ET.TreeBuilder(), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        parser.feed(raw)
        return parser.close()
    except DefusedXmlException:
        line = parser.parser.CurrentLineNumber
        raise UploadError(422, code, "upload.xml_dtd", [{"line": line}], line=line) from None
    except ET.ParseError as exc:
        raise UploadError(422, code, "upload.bad_xml", [{"line": exc.position[0]}], line=exc.position[0]) from None


def local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def child(el, name):
    for c in el:
        if local(c.tag) == name:
            return c
    return None


def text_of(el, name) -> str:
    c = child(el, name)
    return (c.text or "").strip() if c is not None else ""
