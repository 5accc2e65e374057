"""Issue 9, item 3: with Redis unreachable (a real port where nothing listens), every surface
follows the README's outage policy: the API answers JSON and keeps a per-process limit
(R-KEY-4), sign-in fails closed with a clear page (R-AUP-4), New Order keeps taking orders,
and orders placed while the broker is down are relayed by the due rows once it is back.
Issue 10: a refill or a cancel asked while the broker is down is saved, answered, and sent
by the due rows (a refill) or the next poll (a cancel) once it is back."""

import socket
import threading
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts.services import api_key_issue
from orders.models import Order, Refill
from orders.services.relay import orders_poll, orders_relay_due
from orders.services.relay.refill import refills_due
from smmpanel.celery import app as celery_app
from tests.catalog.factories import ProviderServiceFactory, ServiceFactory
from tests.factories import PASSWORD, UserFactory
from tests.orders.factories import LINK, funded_customer, place

pytestmark = pytest.mark.django_db(transaction=True)
RelayState = Order.RelayState


def _dead_port() -> int:
    with socket.socket() as sock:  # bound then closed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cache_on_dead_port(settings) -> None:
    cache = dict(settings.CACHES["default"])
    cache["LOCATION"] = f"redis://127.0.0.1:{_dead_port()}/0"
    settings.CACHES = {"default": cache}


@pytest.fixture
def hanging_port():
    """A port that takes connections (the kernel's backlog) and never answers: a Redis that
    hangs instead of refusing (a paused container, a dropped route)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


def _answer_within(seconds: float, call):
    """``call()``'s result, or None if it has not answered within ``seconds``."""
    result = []

    def run():
        try:
            result.append(call())
        finally:
            connection.close()  # this thread's own

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return result[0] if result else None


@pytest.fixture
def cache_down(settings):
    """The cache (rate limits) on a Redis port where nothing listens."""
    _cache_on_dead_port(settings)
    return settings


@contextmanager
def _broker_on_dead_port():
    """The Celery broker on a Redis port where nothing listens; tasks really published."""
    conf = celery_app.conf
    saved = conf.broker_url, conf.task_always_eager

    def reset_pools():
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    conf.broker_url = f"redis://127.0.0.1:{_dead_port()}/0"
    conf.task_always_eager = False
    reset_pools()
    try:
        yield
    finally:
        conf.broker_url, conf.task_always_eager = saved
        reset_pools()


@pytest.fixture
def broker_down():
    with _broker_on_dead_port():
        yield


def test_the_api_answers_json_and_keeps_a_per_process_limit(client, settings):
    # R-KEY-4: limited even while the shared counters are unreachable; never a 500 or HTML.
    # The key is issued before Redis goes: a write that must invalidate the read cache fails
    # closed while it is unreachable (smmpanel.readcache), so no stale key is served later.
    key = api_key_issue(user=funded_customer(deposited="5"))[1]
    _cache_on_dead_port(settings)
    settings.API_RATE_LIMIT_PER_ACCOUNT = "3/m"
    answers = [client.post("/api/v2", {"key": key, "action": "balance"}) for _ in range(5)]
    assert all(a["Content-Type"] == "application/json" for a in answers)
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert set(answers[0].json()) == {"balance", "currency"}
    assert answers[-1].json() == {"error": "Too many requests"}


def test_sign_in_fails_closed_with_a_clear_page(client, cache_down):  # R-AUP-4
    user = UserFactory()
    response = client.post("/accounts/login/", {"login": user.username, "password": PASSWORD})
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "signing in, signing up and password resets are paused" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_orders_placed_while_redis_is_down_are_relayed_when_it_returns(
    client, cache_down, broker_down, routed_service, simulator, settings
):  # R-ORD-9: none lost
    user = funded_customer(deposited="10")
    client.force_login(user)
    placed = []
    for n in range(3):
        response = client.post(
            "/orders/new/", {"service": routed_service.pk, "link": f"{LINK}{n}", "quantity": 1000}
        )
        assert response.status_code == 302, response.content.decode()[:500]
        placed.append(int(response.url.rstrip("/").rsplit("/", 1)[1]))
    mass = client.post("/orders/mass/", {"orders": f"{routed_service.pk} | {LINK}m | 1000"})
    assert mass.status_code == 200
    assert "1 order placed" in mass.content.decode()
    orders = Order.objects.filter(user=user)
    assert orders.count() == 4
    assert set(orders.values_list("relay_state", flat=True)) == {RelayState.QUEUED}
    assert simulator.adds_received == 0  # no message reached a worker

    # Redis is back (tasks inline again); the beat's due rows hand the orders on.
    celery_app.conf.task_always_eager = True
    settings.ORDERS_RELAY_LOST_AFTER_SECONDS = 0
    orders_relay_due()
    connection.close()
    assert set(orders.values_list("relay_state", flat=True)) == {RelayState.PLACED}
    assert (simulator.adds_received, simulator.orders_placed) == (4, 4)
    assert sum(o.charge for o in orders) == Decimal("4.80")


def test_a_redis_that_hangs_fails_like_one_that_is_down(
    client, settings, hanging_port, routed_service, simulator
):  # R-KEY-4, R-ORD-9: socket timeouts (REDIS_SOCKET_*), so no request hangs on it
    timeouts = {
        "socket_connect_timeout": settings.REDIS_SOCKET_CONNECT_TIMEOUT,
        "socket_timeout": settings.REDIS_SOCKET_TIMEOUT,
    }
    conf = celery_app.conf
    assert settings.CACHES["default"]["OPTIONS"] == timeouts
    assert conf.broker_transport_options == timeouts
    user = funded_customer(deposited="10")
    key = api_key_issue(user=user)[1]
    # Shorter here only to keep the test quick: every cache read waits them out in turn.
    quick = {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}
    cache = {**settings.CACHES["default"], "OPTIONS": quick}
    cache["LOCATION"] = f"redis://127.0.0.1:{hanging_port}/0"
    settings.CACHES = {"default": cache}
    saved = conf.broker_url, conf.task_always_eager, conf.broker_transport_options
    conf.broker_url = f"redis://127.0.0.1:{hanging_port}/0"
    conf.task_always_eager, conf.broker_transport_options = False, quick
    celery_app._pool = celery_app.amqp._producer_pool = None
    try:
        api = _answer_within(30, lambda: client.post("/api/v2", {"key": key, "action": "balance"}))
        assert api is not None, "the API hung on Redis"
        assert (api.status_code, set(api.json())) == (200, {"balance", "currency"})
        client.force_login(user)
        data = {"service": routed_service.pk, "link": LINK, "quantity": 1000}
        page = _answer_within(30, lambda: client.post("/orders/new/", data))
        assert page is not None, "New Order hung on Redis"
        assert page.status_code == 302
    finally:
        conf.broker_url, conf.task_always_eager, conf.broker_transport_options = saved
        celery_app._pool = celery_app.amqp._producer_pool = None
    assert Order.objects.get(user=user).relay_state == RelayState.QUEUED  # kept for the sweep


def test_a_refill_and_a_cancel_asked_while_the_broker_is_down_are_kept(
    client, routed_service, sim_provider, simulator, settings, assert_ledger_ok
):  # R-ORD-13, R-ORD-6: the change is saved and answered, never a 500, and none is lost
    user = funded_customer(deposited="10")
    refill_service = ServiceFactory(
        rate=Decimal("2.50"), min_quantity=50, max_quantity=50000, refill=True, refill_days=30
    )
    ProviderServiceFactory(service=refill_service, provider=sim_provider, remote_service_id="101")
    simulator.step_seconds = 0
    done = place(user, refill_service, quantity=1000)  # broker up: sent inline
    Order.objects.filter(pk=done.pk).update(poll_due_at=timezone.now())
    orders_poll()
    done.refresh_from_db()
    assert done.status == Order.Status.COMPLETED
    waiting = place(user, routed_service, quantity=1000, link=f"{LINK}wait")
    waiting.refresh_from_db()
    assert waiting.relay_state == RelayState.PLACED
    simulator.force_status(waiting.provider_order_id, "Pending")  # cancel is still possible
    client.force_login(user)

    with _broker_on_dead_port():
        refill_response = client.post(f"/orders/{done.pk}/refill/")
        cancel_response = client.post(f"/orders/{waiting.pk}/cancel/")
    assert refill_response.status_code == 302
    assert cancel_response.status_code == 302
    refill = Refill.objects.get(order=done)
    assert (refill.status, refill.relay_state) == ("pending", "queued")
    waiting.refresh_from_db()
    assert waiting.cancel_requested_at is not None
    assert waiting.cancel_sent_at is None
    assert not simulator.refills

    # The broker is back (tasks inline again): the refill's due row sends it, the next poll
    # of the waiting order asks the provider to cancel it.
    Refill.objects.filter(pk=refill.pk).update(due_at=timezone.now())
    refills_due()
    refill.refresh_from_db()
    assert refill.relay_state == "sent"
    assert len(simulator.refills) == 1
    Order.objects.filter(pk=waiting.pk).update(poll_due_at=timezone.now())
    orders_poll()
    Order.objects.filter(pk=waiting.pk).update(poll_due_at=timezone.now())
    orders_poll()
    connection.close()
    waiting.refresh_from_db()
    assert waiting.status == Order.Status.CANCELED
    assert waiting.refunded == waiting.charge
    assert_ledger_ok()
