# The session `qcluster` fixture lives in tests/conftest.py and `job_wait` in
# tests/helpers.py: reports and imports use them too.
from tests.helpers import job_wait  # noqa: F401
