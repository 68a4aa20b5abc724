"""Claiming jobs in-process, as a busy qcluster worker does (jobs/runner.py: COMPLETE_CLAIM)."""

from jobs import runner


def claim_batch(size: int, worker: str) -> list[runner.Claim]:
    rows = runner._sql_all(
        runner.COMPLETE_CLAIM[size], {"jobs": [], "entries": [], "attempts": [], "results": [], "worker": worker}
    )
    return [runner.Claim(*row[:9]) for row in rows]
