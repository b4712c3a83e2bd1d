"""What a device sends is parsed one way: a DTD or an entity declaration is refused unparsed (no
billion-laughs, no external entity), and the rest is parsed strictly (no recovery, no network, no
huge trees). Used by the SOAP answers (onvif_client, media2), the scan and the discovery."""

from __future__ import annotations

from lxml import etree

_STRICT = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False)


def declares_dtd(content: bytes) -> bool:
    """A DOCTYPE or an ENTITY declaration anywhere in the (size-bounded) answer."""
    upper = content.upper()
    return b"<!DOCTYPE" in upper or b"<!ENTITY" in upper


def parse(content: bytes) -> etree._Element:
    """The document's root; etree.XMLSyntaxError when it is not well-formed XML."""
    return etree.fromstring(content, _STRICT)
