"""Budgets the tests keep to on the shared machine (issue 9, item 7).

Postgres allows 100 connections in all (``max_connections``), shared by the suite's two
xdist workers (``-n 2``), their Celery workers and live servers, and other apps. A test
that runs threads lets at most ``MAX_DB_CONNECTIONS_PER_TEST`` of them hold a connection.
"""

import threading

MAX_DB_CONNECTIONS_PER_TEST = 20
XDIST_WORKERS = 2
POSTGRES_MAX_CONNECTIONS = 100


def connection_slots() -> threading.BoundedSemaphore:
    """Hold one while using a database connection in a test's thread (and close it inside)."""
    return threading.BoundedSemaphore(MAX_DB_CONNECTIONS_PER_TEST)
