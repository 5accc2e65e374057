"""The read cache's own rules (smmpanel/readcache.py), on the real Redis and Postgres."""

import threading

import pytest
from django.db import transaction

from smmpanel.readcache import cached, stamp_bump

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _read_cache_on(settings):
    settings.READ_CACHE_SECONDS = 300


def _loader(values: list):
    calls = []

    def load():
        calls.append(1)
        return values[0]

    return load, calls


def test_an_item_is_served_until_its_stamp_is_bumped():
    values = ["old"]
    load, calls = _loader(values)
    assert cached("t", "k", load) == "old"
    values[0] = "new"
    assert cached("t", "k", load) == "old"
    assert len(calls) == 1
    stamp_bump("t")
    assert cached("t", "k", load) == "new"
    assert len(calls) == 2


def test_none_is_never_cached():
    load, calls = _loader([None])
    cached("t", "none", load)
    cached("t", "none", load)
    assert len(calls) == 2


def test_what_a_transaction_read_is_stored_only_if_it_commits():
    values = ["uncommitted"]
    load, calls = _loader(values)
    with transaction.atomic():
        assert cached("t", "rolled", load) == "uncommitted"
        transaction.set_rollback(True)
    values[0] = "committed"
    assert cached("t", "rolled", load) == "committed"  # nothing was stored
    with transaction.atomic():
        cached("t", "kept", load)
    assert cached("t", "kept", load) == "committed"
    assert len(calls) == 3


def test_an_old_row_read_before_the_writer_commits_is_never_served():
    """A reader between the writer's first bump and its commit reads the old row; the bump
    after commit makes sure the next request reads the database again."""
    values = ["old price"]
    load, _ = _loader(values)
    bumped, read = threading.Event(), threading.Event()

    def other_request():
        bumped.wait(10)
        cached("t", "price", load)  # the writer has not committed: the old row
        read.set()

    reader = threading.Thread(target=other_request)
    reader.start()
    with transaction.atomic():
        stamp_bump("t")
        bumped.set()
        read.wait(10)
        values[0] = "new price"  # what the database holds once the writer commits
    reader.join()
    assert cached("t", "price", load) == "new price"


def test_off_when_the_setting_is_zero(settings):
    settings.READ_CACHE_SECONDS = 0
    load, calls = _loader(["x"])
    cached("t", "off", load)
    cached("t", "off", load)
    assert len(calls) == 2
