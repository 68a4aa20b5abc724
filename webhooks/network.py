"""The SSRF rule: where a webhook may be sent.

An URL is http(s) with a host, and every address its host resolves to is a public unicast one:
no loopback, private (RFC 1918, ULA, CGNAT), link-local (169.254/16: cloud metadata), multicast,
reserved or unspecified address, unless WEBHOOKS["ALLOW_PRIVATE_NETWORKS"]. Checked when an
endpoint is saved and again before each attempt, whose connection goes to the address checked
then (a later DNS answer cannot rebind it). Redirects are never followed (webhooks/sending.py).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from .errors import WebhookUrlRefused

METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata"})  # resolved in clouds to 169.254.169.254


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as in the URL (Host header, TLS server name)
    port: int
    address: str  # the checked IP the connection goes to
    path: str  # path and query


CARRIER_NAT = ipaddress.ip_network("100.64.0.0/10")  # shared address space (RFC 6598): cloud internals


def address_allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if (
        ip.is_link_local or ip in CARRIER_NAT
    ):  # cloud metadata (169.254.169.254) lives here: never, whatever the setting
        return False
    if settings.WEBHOOKS["ALLOW_PRIVATE_NETWORKS"]:
        return not (ip.is_unspecified or ip.is_multicast)
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local)


def url_parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an http(s) URL, or 400 webhook_url_refused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookUrlRefused(details={"url": [str(exc)]}) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookUrlRefused(details={"url": ["An http or https URL with a host."]})
    if parts.username or parts.password:
        raise WebhookUrlRefused(details={"url": ["No credentials in the URL."]})
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def url_resolve(url: str) -> Target:
    """Where `url` may be sent: its first allowed address, once all of them are allowed."""
    scheme, host, port, path = url_parse(url)
    if host.lower().rstrip(".") in METADATA_HOSTS:
        raise WebhookUrlRefused(details={"url": [f"{host} is a metadata service."]})
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookUrlRefused(details={"url": [f"{host} does not resolve."]}) from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        if not address_allowed(ipaddress.ip_address(address.split("%")[0])):
            raise WebhookUrlRefused(details={"url": [f"{host} resolves to an address that is not public."]})
    return Target(scheme, host, port, addresses[0], path)
