"""The provider simulator's order life (issue 10): native drip-feed and subscription status
fields, refills with counts that drop over time, and faults on those actions, over HTTP."""

import json
import urllib.request
from urllib.parse import urlencode

import pytest

from catalog.provider_client import Outcome, ProviderClient
from devtools.simulator import ProviderSimulator

KEY = "life-sim-key"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture(scope="module")
def clocked():
    clock = Clock()
    simulator = ProviderSimulator(api_key=KEY, step_seconds=10, clock=clock).start()
    simulator.clock = clock
    yield simulator
    simulator.stop()


@pytest.fixture
def sim(clocked):
    clocked.reset()
    clocked.step_seconds = 10
    return clocked


def call(sim, **fields):
    data = urlencode({"key": KEY, **fields}).encode()
    with urllib.request.urlopen(urllib.request.Request(sim.url, data=data), timeout=5) as answer:
        return json.loads(answer.read())


def test_native_drip_feed_answers_runs_and_orders(sim):
    order = call(sim, action="add", service=101, link="https://www.instagram.com/a/",
                 quantity=100, runs=3, interval=5)["order"]  # fmt: skip
    status = call(sim, action="status", order=order)
    assert (status["runs"], len(status["orders"]), status["remains"]) == ("3", 3, "300")


def test_subscription_answers_posts_and_expiry(sim):
    order = call(sim, action="add", service=109, username="brand", min=100, max=100,
                 posts=4, expiry="01/01/2099")["order"]  # fmt: skip
    assert call(sim, action="status", order=order)["posts"] == "0"
    sim.clock.now += 100
    status = call(sim, action="status", order=order)
    assert (status["posts"], status["expiry"]) == ("4", "01/01/2099")


def test_counts_drop_over_time_and_a_refill_restores_them(sim):
    order = call(sim, action="add", service=101, link="https://www.instagram.com/drop-me/",
                 quantity=1000)["order"]  # fmt: skip
    sim.clock.now += 30  # delivered
    full = sim.current_count(order)
    sim.clock.now += 20  # two steps later: a fifth dropped
    assert sim.current_count(order) == full - 200
    refill = int(call(sim, action="refill", order=order)["refill"])
    sim.clock.now += 30
    assert call(sim, action="refill_status", refill=refill) == {"status": "Completed"}
    assert sim.current_count(order) == full


def test_strict_refills_reject_an_order_that_did_not_drop(sim):
    sim.strict_refills = True
    order = call(sim, action="add", service=101, link="https://www.instagram.com/kept/",
                 quantity=1000)["order"]  # fmt: skip
    sim.clock.now += 30
    refill = int(call(sim, action="refill", order=order)["refill"])
    sim.clock.now += 30
    assert call(sim, action="refill_status", refills=str(refill)) == [
        {"refill": refill, "status": "Rejected"}
    ]


def test_faults_apply_to_refill_actions(sim):
    client = ProviderClient(url=sim.url, key=KEY, timeout=2)
    sim.inject("http_error", action="refill_status", status=502, times=1)
    assert client.refill_status(1).outcome is Outcome.RETRY
    sim.inject("error", action="refill", message="Refill is disabled for this service", times=1)
    assert client.refill(1).outcome is Outcome.FINAL
