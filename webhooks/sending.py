"""One HTTP attempt of a delivery: signed (Standard Webhooks), to the address the SSRF rule
checked, no redirect followed, within WEBHOOKS["TIMEOUT_SECONDS"]."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import httpx
from django.conf import settings
from standardwebhooks import Webhook

from .network import Target

USER_AGENT = "saas-platform-webhooks/1"


@dataclass(frozen=True)
class Answer:
    status_code: int | None  # None: no HTTP answer (timeout, refused connection…)
    duration_ms: int
    body: str
    error: str


def headers_sign(*, secret: str, msg_id: str, timestamp: datetime, body: str) -> dict[str, str]:
    """The Standard Webhooks headers of `body`."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, timestamp, body),
    }


def post(target: Target, *, body: str, headers: dict[str, str]) -> Answer:
    """POST `body` to `target.address`, naming `target.host` (Host header, TLS SNI and certificate)."""
    address = f"[{target.address}]" if ":" in target.address else target.address
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    url = f"{target.scheme}://{address}:{target.port}{target.path}"
    request_headers = {
        **headers,
        "host": host_header,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    started = time.monotonic()
    keep = settings.WEBHOOKS["RESPONSE_BODY_KEPT"]
    try:
        with httpx.Client(timeout=settings.WEBHOOKS["TIMEOUT_SECONDS"], follow_redirects=False, trust_env=False) as c:
            extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
            request = c.build_request(
                "POST", url, content=body.encode(), headers=request_headers, extensions=extensions
            )
            response = c.send(request, stream=True)
            try:
                kept = b""
                for chunk in response.iter_raw():  # a receiver's huge answer is not read beyond what is kept
                    kept += chunk
                    if len(kept) >= keep:
                        break
            finally:
                response.close()
        return Answer(response.status_code, _ms(started), kept[:keep].decode(errors="replace"), "")
    except httpx.HTTPError as exc:
        return Answer(None, _ms(started), "", f"{type(exc).__name__}: {exc}"[:500])


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
