"""The provider simulator speaks API v2 as docs/spec/API_V2.md describes, over real HTTP."""

import json
import urllib.request
from decimal import Decimal
from urllib.parse import urlencode

import pytest

from devtools.simulator import ProviderSimulator, generated_catalog

KEY = "clock-sim-key"
LINK = "https://www.instagram.com/acme/"


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


def call(sim, how="form", **fields):
    """One API call as a client in the wild would make it: form POST, JSON POST or GET."""
    fields.setdefault("key", KEY)
    if how == "get":
        request = urllib.request.Request(f"{sim.url}?{urlencode(fields)}")
    elif how == "json":
        request = urllib.request.Request(
            sim.url, data=json.dumps(fields).encode(), headers={"Content-Type": "application/json"}
        )
    else:
        request = urllib.request.Request(sim.url, data=urlencode(fields).encode())
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
        return json.loads(response.read())


def test_orders_progress_pending_in_progress_completed(sim):
    order_id = call(sim, action="add", service=101, link=LINK, quantity=300)["order"]
    pending = call(sim, action="status", order=order_id)
    assert pending == {
        "charge": "0.57000",
        "start_count": "0",
        "status": "Pending",
        "remains": "300",
        "currency": "USD",
    }
    sim.clock.now += 10
    running = call(sim, action="status", order=order_id)
    assert running["status"] == "In progress"
    assert int(running["start_count"]) > 0
    assert int(running["remains"]) == 200
    sim.clock.now += 20
    done = call(sim, action="status", order=order_id)
    assert (done["status"], done["remains"]) == ("Completed", "0")
    assert done["start_count"] == running["start_count"]


def test_partial_and_canceled_endings_give_money_back(sim):
    start = Decimal(call(sim, action="balance")["balance"])
    partial = call(sim, action="add", service=101, link=LINK + "partial", quantity=400)["order"]
    canceled = call(sim, action="add", service=101, link=LINK + "cancel", quantity=400)["order"]
    sim.clock.now += 100
    answer = call(sim, action="status", orders=f"{partial},{canceled},5")
    assert answer[str(partial)]["status"] == "Partial"
    assert answer[str(partial)]["remains"] == "100"
    assert answer[str(partial)]["charge"] == "0.57000"  # 3/4 of 0.76
    assert answer[str(canceled)]["status"] == "Canceled"
    assert answer["5"] == {"error": "Incorrect order ID"}
    assert Decimal(call(sim, action="balance")["balance"]) == start - Decimal("0.57")


def test_cancel_only_while_pending_and_only_where_offered(sim):
    first = call(sim, action="add", service=101, link=LINK, quantity=100)["order"]
    no_cancel = call(sim, action="add", service=106, link=LINK + "reel/1", quantity=100)["order"]
    answer = call(sim, action="cancel", orders=f"{first},{no_cancel},77")
    assert answer == [
        {"order": first, "cancel": 1},
        {"order": no_cancel, "cancel": {"error": "Cancel is disabled for this service"}},
        {"order": 77, "cancel": {"error": "Incorrect order ID"}},
    ]


def test_refill_after_completion_only(sim):
    order_id = call(sim, action="add", service=101, link=LINK, quantity=100)["order"]
    no_refill = call(sim, action="add", service=102, link=LINK + "x", quantity=100)["order"]
    assert call(sim, action="refill", order=order_id) == {
        "error": "The refill task is not completed for this order"
    }
    sim.clock.now += 100
    assert call(sim, action="refill", order=no_refill) == {
        "error": "Refill is disabled for this service"
    }
    refill = call(sim, action="refill", order=order_id)["refill"]
    assert call(sim, action="refill_status", refill=refill) == {"status": "Pending"}
    sim.clock.now += 100
    assert call(sim, action="refill_status", refills=f"{refill},9") == [
        {"refill": int(refill), "status": "Completed"},
        {"refill": 9, "status": {"error": "Refill not found"}},
    ]


def test_validation_and_error_wordings(sim):
    assert call(sim, key="nope", action="balance") == {"error": "Invalid API key"}
    assert call(sim, action="fly") == {"error": "Incorrect request"}
    assert call(sim, action="add", service=5, link=LINK, quantity=100) == {
        "error": "Incorrect service ID"
    }
    assert call(sim, action="add", service=101, link="instagram", quantity=100) == {
        "error": "Incorrect link"
    }
    assert call(sim, action="add", service=101, link=LINK, quantity=10) == {
        "error": "Quantity less than minimal 50"
    }
    call(sim, action="add", service=101, link=LINK, quantity=100)
    assert call(sim, action="add", service=101, link=LINK, quantity=100) == {
        "error": "You have active order with this link. Please wait until order being completed."
    }
    sim.set_balance("0.10")
    assert call(sim, action="add", service=101, link=LINK + "2", quantity=100) == {
        "error": "Not enough funds on balance"
    }


def test_order_types_and_drip_feed(sim):
    lines = "nice\ngreat\n\nwow\nlove it\ncool"  # 5 comments, the blank line does not count
    comments = call(sim, action="add", service=107, link=LINK, comments=lines)
    package = call(sim, action="add", service=123, link="https://t.me/acme/5")
    drip = call(sim, action="add", service=101, link=LINK + "d", quantity=100, runs=3, interval=5)
    subscription = call(sim, action="add", service=109, username="acme", min=50, max=100)
    assert all("order" in answer for answer in (comments, package, drip, subscription))
    assert sim.orders[comments["order"]].quantity == 5
    assert sim.orders[package["order"]].charge == Decimal("0.60000")
    assert sim.orders[drip["order"]].quantity == 300


def test_json_bodies_and_get_queries_are_understood(sim):
    assert "balance" in call(sim, how="json", action="balance")
    assert isinstance(call(sim, how="get", action="services"), list)


def test_every_add_received_is_counted_even_when_it_fails(sim):
    sim.inject("out_of_funds", action="add", times=1)
    call(sim, action="add", service=101, link=LINK, quantity=100)
    call(sim, action="add", service=101, link=LINK, quantity=100)
    call(sim, key="nope", action="add", service=101, link=LINK, quantity=100)
    assert sim.adds_received == 3
    assert sim.orders_placed == 1


def test_faults_can_be_set_over_http_on_the_control_endpoint(sim):
    request = urllib.request.Request(
        f"{sim.base_url}/control",
        data=json.dumps({"key": KEY, "op": "fault", "kind": "out_of_funds", "action": "add",
                         "untranslated": True, "times": 1}).encode(),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.loads(response.read())["faults"][0]["kind"] == "out_of_funds"
    refused = call(sim, action="add", service=101, link=LINK, quantity=100)
    assert refused == {"error": "neworder.error.not_enough_funds"}
    assert "order" in call(sim, action="add", service=101, link=LINK, quantity=100)
    with urllib.request.urlopen(f"{sim.base_url}/control?key={KEY}", timeout=5) as response:
        assert json.loads(response.read())["adds_received"] == 2


def test_generated_catalogs_are_varied_and_deterministic():
    services = generated_catalog(1000)
    assert len({s["service"] for s in services}) == 1000
    assert len({s["category"] for s in services}) == 48
    assert services == generated_catalog(1000)
    assert {s["refill"] for s in services} == {True, False}
