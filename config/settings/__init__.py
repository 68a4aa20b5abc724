"""Settings, all from the environment (see .env.example): production differs from development
only through environment variables.

This package is the settings module Django loads (DJANGO_SETTINGS_MODULE=config.settings). It
composes one module per topic, in this order (a module reads only the ones above it):

    base      Django itself: debug, the data folder, hosts, apps, middleware, templates, static files, logging
    tenancy   django-tenants: a schema per tenant, the platform's hosts, the pool of ready schemas
    services  PostgreSQL, Redis (cache, channel layer), file storage
    security  SECRET_KEY, passwords and sign-in limits, cookies, HTTPS and proxies, CSRF
    api       Django REST framework, the OpenAPI schema
    realtime  the event log, WebSocket frames and connections, presence
    jobs      django-q2 on our broker, task modules, schedules, the nightly maintenance
    emails    the email backend, sender, quotas
    uploads   request bodies, uploaded files, imports
    webhooks  outgoing webhooks: SSRF rule, timeout, retries, disabling, log retention
    documents collaborative documents: size, update size and rate, connections per document

`env` and BASE_DIR come from config/env.py. The tests' settings are config/settings_test.py (a few
overrides of these; a module of its own, as it must set a SECRET_KEY before this package is read).

Reading the settings has no side effect beyond reading `.env`:

- No directory is made. config/devstack (`make run`, `make test`, `devstack exec`) makes
  FILE_UPLOAD_TEMP_DIR, which Django's checks want to exist (files.E001); a deployment
  provisions its own. Storage and email backends make their folders when they first write.
- Nothing depends on sys.argv. What a process is comes from the environment that whatever
  starts it sets:
    DB_POOL=1                 config/asgi.py: the ASGI server pools its connections;
    JOBS_QCLUSTER_PROCESS=1   whatever starts `manage.py qcluster` (config/devstack, tests/live.py,
                              benchmarks/_bench.py; in production the qcluster's process manager):
                              its connections commit asynchronously and prepare the runner's
                              statements (jobs/apps.py).
"""

from config.env import BASE_DIR, env  # noqa: F401  (config.settings_test and the benchmarks read `env`)

# The order of the docstring, not the alphabet:
# isort: off
from .base import *  # noqa: F403
from .tenancy import *  # noqa: F403
from .services import *  # noqa: F403
from .security import *  # noqa: F403
from .api import *  # noqa: F403
from .realtime import *  # noqa: F403
from .jobs import *  # noqa: F403
from .emails import *  # noqa: F403
from .uploads import *  # noqa: F403
from .webhooks import *  # noqa: F403
from .documents import *  # noqa: F403
# isort: on
