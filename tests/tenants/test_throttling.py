"""A tenant's rate limit holds under concurrent requests (the real server, one thread a request)."""

import threading

import httpx

from tests.factories import member_make, token_make


def test_concurrent_requests_cannot_pass_the_tenant_limit_together(committed, acme, asgi_server):
    acme.settings = {"rate_limit_per_minute": 10}
    acme.save()
    tokens = [token_make(member_make(acme, email=f"m{i}@acme.test")) for i in range(8)]
    barrier, statuses, lock = threading.Barrier(8), [], threading.Lock()

    def burst(token):
        with httpx.Client(
            base_url=asgi_server.url, timeout=30, headers={"Host": "acme.localhost", "Authorization": f"Bearer {token}"}
        ) as client:
            client.get("/healthz")  # connected before the burst
            barrier.wait()
            for _ in range(5):
                code = client.get("/api/tenant").status_code
                with lock:
                    statuses.append(code)

    threads = [threading.Thread(target=burst, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert len(statuses) == 40
    assert statuses.count(200) == 10, statuses  # not one more than the tenant allows
    assert statuses.count(429) == 30
