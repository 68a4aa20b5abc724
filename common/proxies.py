"""Who sent a request: the client address, given the proxies we trust.

Not behind a proxy (the default), `X-Forwarded-For` is written by the client and is
ignored: the address is the TCP peer (REMOTE_ADDR). With `BEHIND_PROXY`, each of the
`NUM_PROXIES` proxies in front of the app appends the address it saw, so the client is
the NUM_PROXIES-th entry from the right; whatever stands left of it is the client's own
claim. uvicorn must not rewrite the peer from the header itself: it runs with
`--no-proxy-headers` (config/devstack, tests/live.py), so this is the one place that reads it.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    remote = request.META.get("REMOTE_ADDR") or None
    hops = getattr(settings, "NUM_PROXIES", 0) or 0
    if hops <= 0:
        return remote
    addresses = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if not addresses:
        return remote
    return addresses[-min(hops, len(addresses))][:64]


def client_network(ip: str | None) -> str:
    """The unit a per-address limit counts: the IPv4 address, or the IPv6 /64 (one
    subscriber's prefix: counting single IPv6 addresses would give an attacker 2^64 of them)."""
    if not ip:
        return "unknown"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:64]
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
