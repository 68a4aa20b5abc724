"""The CRDT side of documents, with no database: checking updates, building a document from its
stored log, and turning it into JSON. Yjs updates are v1-encoded (what `y-websocket` sends)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pycrdt import Array, Doc, Map, Text

from .errors import DocumentUpdateMalformed

EMPTY_UPDATE = b"\x00\x00"  # no structs, no deletions (what a client with nothing new sends)
TEXT_ROOT = "content"  # the Y.Text that `text` in the content endpoint shows


def update_check(update: bytes) -> None:
    """Raise DocumentUpdateMalformed unless `update` decodes as a Yjs update.

    Applied to a scratch document, never the live one: a bad update leaves the document
    as it was. (Structs whose dependencies are missing decode fine and wait as pending.)"""
    try:
        Doc().apply_update(update)
    except Exception as exc:  # pycrdt raises ValueError for undecodable bytes
        raise DocumentUpdateMalformed(details={"reason": str(exc)[:200]}) from None


def doc_build(snapshot: bytes | None, updates: Iterable[bytes]) -> Doc:
    doc = Doc()
    if snapshot:
        doc.apply_update(snapshot)
    for update in updates:
        doc.apply_update(update)
    return doc


def doc_text(doc: Doc) -> str:
    return str(doc.get(TEXT_ROOT, type=Text)) if TEXT_ROOT in doc.keys() else ""


def doc_json(update: bytes) -> dict[str, Any]:
    """Every root of the document `update` holds, as JSON.

    The server never learns a root's type from the wire (a Yjs client declares it locally), so
    each root is read as a Map, then a Text, then an Array, whichever shows content first, each
    in a fresh copy (reading a root fixes its type). `content` is always read as a Text."""
    names = list(doc_build(update, ()).keys())
    result: dict[str, Any] = {}
    for name in names:
        if name == TEXT_ROOT:
            result[name] = str(doc_build(update, ()).get(name, type=Text))
            continue
        result[name] = _root_value(update, name)
    return result


def _root_value(update: bytes, name: str) -> Any:
    as_map = doc_build(update, ()).get(name, type=Map)
    if len(as_map):
        return as_map.to_py()
    text = str(doc_build(update, ()).get(name, type=Text))
    if text:
        return text
    return doc_build(update, ()).get(name, type=Array).to_py() or None
