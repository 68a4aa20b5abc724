"""Outgoing webhooks (webhooks/, docs/webhooks.md)."""

from config.env import env

WEBHOOKS = {
    # Refused unless true: URLs resolving to loopback, private, link-local, multicast, reserved or
    # metadata addresses (webhooks/network.py). Development and the tests' receiver on 127.0.0.1 only.
    "ALLOW_PRIVATE_NETWORKS": env.bool("WEBHOOKS_ALLOW_PRIVATE_NETWORKS", default=False),
    "TIMEOUT_SECONDS": 10.0,  # per attempt: connect + send + the receiver's answer
    # Attempts of one delivery and the wait before the 2nd (doubling): 10 s · (2^13 − 1) ≈ 22.8 h in all.
    "MAX_ATTEMPTS": env.int("WEBHOOKS_MAX_ATTEMPTS", default=14),
    "RETRY_BACKOFF_SECONDS": env.float("WEBHOOKS_RETRY_BACKOFF_SECONDS", default=10.0),
    # Deliveries failed for good in a row (retries exhausted, or refused) that disable an endpoint.
    "DISABLE_AFTER_FAILURES": env.int("WEBHOOKS_DISABLE_AFTER_FAILURES", default=10),
    "DELIVERY_RETENTION_DAYS": env.int("WEBHOOKS_DELIVERY_RETENTION_DAYS", default=30),  # finished deliveries kept
    "MAX_ENDPOINTS_PER_TENANT": 20,
    "RESPONSE_BODY_KEPT": 1000,  # characters of the receiver's answer kept in the log
}
