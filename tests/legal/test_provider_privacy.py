"""R-PRV-4: nothing of the customer's (email, username, IP, key) ever reaches a provider.

A provider of our own over real HTTP records every request byte for byte (headers and body)
while an order goes through the relay: its add, then a status poll; drip-feed portions; a
refill (``refill``, then ``refill_status``); a subscription's cycles (each an ``add``).
"""

import json
import threading
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.db.models import F
from django.utils import timezone

from accounts.services import api_key_issue
from catalog.models import Service
from catalog.services import provider_create
from orders.models import Order, Refill, Subscription
from orders.services.relay import dripfeed_release_due, orders_poll
from orders.services.relay.refill import refills_due
from orders.services.relay.subscription import subscriptions_due
from tests.billing.factories import fund
from tests.catalog.factories import ProviderServiceFactory, ServiceFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
IP = "81.2.69.160"


class _Recorder(BaseHTTPRequestHandler):
    requests: list[bytes]

    def _answer(self, fields: dict):
        action = fields.get("action")
        if action == "add":
            self.server.added += 1
            return {"order": 9000 + self.server.added}
        if action == "status" and "orders" in fields:
            status = {"status": self.server.status, "start_count": "10", "remains": "0"}
            return dict.fromkeys(fields["orders"].split(","), status)
        if action == "refill" and "order" in fields:
            return {"refill": 77}
        if action == "refill_status" and "refills" in fields:
            return [{"refill": int(r), "status": "Completed"} for r in fields["refills"].split(",")]
        return [{"order": 9001, "cancel": 1}] if action == "cancel" else {"error": "?"}

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append(bytes(self.requestline, "latin-1") + bytes(self.headers) + body)
        self.server.bodies.append(body)
        fields = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        data = json.dumps(self._answer(fields)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.requests = []
    server.bodies = []
    server.added = 0
    server.status = "In progress"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _customer_of(recorder, **service_fields):
    """A service relayed to the recorder, and a funded customer with an API key."""
    provider = provider_create(
        name="Recorder", api_url=f"http://127.0.0.1:{recorder.server_port}/api/v2", api_key="pk"
    )
    service = ServiceFactory(
        rate=Decimal("1.20"), min_quantity=10, max_quantity=1000, **service_fields
    )
    ProviderServiceFactory(service=service, provider=provider, provider_rate=Decimal("0.5"))
    customer = UserFactory(username="zebra_unique_name", email="zebra.secret@example.org",
                           first_name="Zed")  # fmt: skip
    fund(customer, deposited="5")
    _, key = api_key_issue(user=customer)
    return service, customer, key


def _api(client, key, **params):
    return client.post("/api/v2", {"key": key, **params}, REMOTE_ADDR=IP).json()


def _nothing_of_the_customer_sent(recorder, customer, key) -> bytes:
    sent = b"\n".join(recorder.requests)
    for secret in ("zebra_unique_name", "zebra.secret", "zebra.secret%40example.org", "Zed",
                   IP, key, str(customer.pk) + "&"):  # fmt: skip
        assert secret.encode() not in sent, secret
    return sent


def test_provider_gets_only_order_fields(
    client, recorder, django_capture_on_commit_callbacks
):  # R-PRV-4
    service, customer, key = _customer_of(recorder)
    with django_capture_on_commit_callbacks(execute=True):
        answer = _api(client, key, action="add", service=service.pk,
                      link="https://www.instagram.com/p/abc/", quantity=100)  # fmt: skip
    order = Order.objects.get(pk=answer["order"])
    assert order.provider_order_id == 9001
    Order.objects.filter(pk=order.pk).update(poll_due_at=F("created_at"))
    assert orders_poll() == 1

    sent = _nothing_of_the_customer_sent(recorder, customer, key)
    assert b"action=add" in sent
    assert b"action=status" in sent


def test_refills_send_only_the_providers_ids(
    client, recorder, django_capture_on_commit_callbacks
):  # R-PRV-4: a refill and its status poll carry the provider's order and refill ids only
    service, customer, key = _customer_of(recorder, refill=True, refill_days=30)
    recorder.status = "Completed"
    with django_capture_on_commit_callbacks(execute=True):
        answer = _api(client, key, action="add", service=service.pk,
                      link="https://www.instagram.com/p/abc/", quantity=100)  # fmt: skip
    Order.objects.filter(pk=answer["order"]).update(poll_due_at=F("created_at"))
    assert orders_poll() == 1
    recorder.requests.clear()
    recorder.bodies.clear()
    with django_capture_on_commit_callbacks(execute=True):
        asked = _api(client, key, action="refill", order=answer["order"])
    refill = Refill.objects.get(pk=asked["refill"])
    assert (refill.relay_state, refill.provider_refill_id) == ("sent", 77)
    Refill.objects.filter(pk=refill.pk).update(due_at=timezone.now())
    refills_due()
    assert Refill.objects.get(pk=refill.pk).status == "completed"

    sent = _nothing_of_the_customer_sent(recorder, customer, key)
    assert [parse_qs(body.decode()) for body in recorder.bodies] == [
        {"key": ["pk"], "action": ["refill"], "order": ["9001"]},
        {"key": ["pk"], "action": ["refill_status"], "refills": ["77"]},
    ]
    assert b"action=refill_status" in sent


def test_subscription_cycles_send_only_order_fields(
    client, recorder, django_capture_on_commit_callbacks
):  # R-PRV-4: each cycle's add carries only the subscribed account, quantity and service
    service, customer, key = _customer_of(
        recorder, type=Service.Type.SUBSCRIPTIONS, link_rule="username"
    )
    answer = _api(client, key, action="add", service=service.pk, username="brand_account",
                  min=100, max=100, posts=2, delay=0)  # fmt: skip
    assert "order" in answer, answer
    for _ in range(2):
        Subscription.objects.update(next_cycle_at=timezone.now() - timedelta(seconds=1))
        with django_capture_on_commit_callbacks(execute=True):
            assert subscriptions_due() == 1
    assert (
        Order.objects.filter(parent_id=answer["order"], provider_order_id__isnull=False).count()
        == 2
    )

    _nothing_of_the_customer_sent(recorder, customer, key)
    adds = [parse_qs(body.decode()) for body in recorder.bodies]
    # Each cycle is one post of the subscribed account at the provider (orders/relay/send.py).
    assert adds == [
        {"key": ["pk"], "action": ["add"], "service": [adds[0]["service"][0]],
         "username": ["brand_account"], "min": ["100"], "max": ["100"], "posts": ["1"]},
    ] * 2  # fmt: skip


def test_drip_feed_portions_send_only_order_fields(
    client, recorder, django_capture_on_commit_callbacks
):  # R-PRV-4: each portion the panel runs is an add of the link and quantity only
    service, customer, key = _customer_of(recorder, dripfeed=True)
    recorder.status = "Completed"
    with django_capture_on_commit_callbacks(execute=True):
        answer = _api(client, key, action="add", service=service.pk, runs=2, interval=0,
                      link="https://www.instagram.com/p/abc/", quantity=100)  # fmt: skip
    assert "order" in answer, answer
    Order.objects.filter(poll_due_at__isnull=False).update(poll_due_at=timezone.now())
    orders_poll()
    with django_capture_on_commit_callbacks(execute=True):
        assert dripfeed_release_due() == 1

    _nothing_of_the_customer_sent(recorder, customer, key)
    adds = [parse_qs(body.decode()) for body in recorder.bodies if b"action=add" in body]
    assert adds == [
        {"key": ["pk"], "action": ["add"], "service": [adds[0]["service"][0]],
         "link": ["https://www.instagram.com/p/abc/"], "quantity": ["100"]},
    ] * 2  # fmt: skip
