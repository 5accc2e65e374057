"""bench/api_add.py's settings: production's, plus one trivial view (bench_urls.py).

The trivial view measures the bare HTTP round trip through gunicorn and Django's whole
middleware stack, the floor under any API answer.
"""

from smmpanel.settings import *  # noqa: F403

ROOT_URLCONF = "bench_urls"
