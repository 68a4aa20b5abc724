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


def doc_shown(update: bytes) -> dict[str, Any]:
    """doc_json without the roots that show nothing (a root cannot be removed, only emptied)."""
    return {name: value for name, value in doc_json(update).items() if value not in (None, "", [], {})}


def _root_type(update: bytes, name: str) -> type[Text | Map | Array] | None:
    """The type a root shows content as (doc_json's reading); None if it shows none."""
    if name == TEXT_ROOT:
        return Text
    if len(doc_build(update, ()).get(name, type=Map)):
        return Map
    if str(doc_build(update, ()).get(name, type=Text)):
        return Text
    return Array if len(doc_build(update, ()).get(name, type=Array)) else None


def _shared_copy(value: Any) -> Any:
    """An empty shared type of the same kind as `value`, or `value` itself if it is plain JSON."""
    return type(value)() if isinstance(value, Text | Map | Array) else value


def _fill(target: Text | Map | Array, source: Text | Map | Array) -> None:
    """Write `source`'s content into the empty, integrated `target` (nested types copied as types)."""
    if isinstance(source, Text):
        for chunk, attrs in reversed(source.diff()):  # each at 0: nothing on its left to inherit formats from
            if isinstance(chunk, str):
                target.insert(0, chunk, attrs)
            else:
                target.insert_embed(0, chunk, attrs)
    elif isinstance(source, Map):
        for key, value in source.items():
            target[key] = _shared_copy(value)
            if isinstance(value, Text | Map | Array):
                _fill(target[key], value)
    else:
        for value in source:
            target.append(_shared_copy(value))
            if isinstance(value, Text | Map | Array):
                _fill(target[len(target) - 1], value)


def doc_restore_update(current: bytes, version: bytes) -> bytes | None:
    """The update that turns the document `current` holds into what `version` holds, made on a copy
    of the current document in one transaction: each root's content deleted and the version's
    written in its place (text with its formatting and embeds, maps and arrays with their nested
    types). None when the two already show the same (doc_shown). A new update, not a rewind: what
    others add concurrently is merged by the CRDT, not lost. (XML roots are not handled.)"""
    if doc_shown(current) == doc_shown(version):
        return None
    names = sorted(set(doc_build(current, ()).keys()) | set(doc_build(version, ()).keys()))
    kinds = {name: _root_type(version, name) or _root_type(current, name) for name in names}
    doc, source = doc_build(current, ()), doc_build(version, ())
    before = doc.get_state()
    with doc.transaction():
        for name, kind in kinds.items():
            if kind is None:
                continue
            root = doc.get(name, type=kind)
            root.clear()
            if name in source.keys():
                _fill(root, source.get(name, type=kind))
    return doc.get_update(before)
