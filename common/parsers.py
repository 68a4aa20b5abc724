"""The JSON parser of every DRF view: bad JSON of any kind is `400 malformed_request`.

DRF's JSONParser turns a ValueError into a ParseError, but `[` × 100,000 makes the json
module raise RecursionError, which became a 500. Here that is a ParseError too, and so is a
document nested deeper than MAX_DEPTH: a depth Python could parse but the code after it
(serializers, json.dumps on the way to the database) might recurse into again.
"""

from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 64  # arrays/objects inside each other; no endpoint takes more than a few


def json_depth_exceeds(value, limit: int) -> bool:
    """Whether `value` nests containers more than `limit` deep (iteratively: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested more than {MAX_DEPTH} deep.") from None
        if json_depth_exceeds(data, MAX_DEPTH):
            raise ParseError(f"JSON parse error - nested more than {MAX_DEPTH} deep.")
        return data
