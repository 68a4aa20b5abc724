"""Making and reading bearer tokens: `pt_<43 url-safe chars>`, SHA-256 at rest.

Tokens carry 256 bits of randomness, so a fast hash is the right one (a slow
password hash would only add latency to every request).
"""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "pt_"


def token_generate() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def bearer_from_header(header: str | None) -> str | None:
    """The raw token of an `Authorization: Bearer …` header, or None."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
