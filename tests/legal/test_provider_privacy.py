"""R-PRV-4: nothing of the customer's (email, username, IP, key) ever reaches a provider.

A provider of our own over real HTTP records every request byte for byte (headers and body)
while an order goes through the relay: its add, then a status poll.
"""

import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.db.models import F

from accounts.services import api_key_issue
from catalog.services import provider_create
from orders.models import Order
from orders.services.relay import orders_poll
from tests.billing.factories import fund
from tests.catalog.factories import ProviderServiceFactory, ServiceFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class _Recorder(BaseHTTPRequestHandler):
    requests: list[bytes]

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append(bytes(self.requestline, "latin-1") + bytes(self.headers) + body)
        fields = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        action = fields.get("action")
        if action == "add":
            answer = {"order": 9001}
        elif action == "status" and "orders" in fields:
            status = {"status": "In progress", "start_count": "10", "remains": "50"}
            answer = dict.fromkeys(fields["orders"].split(","), status)
        else:
            answer = [{"order": 9001, "cancel": 1}] if action == "cancel" else {"error": "?"}
        data = json.dumps(answer).encode()
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
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_provider_gets_only_order_fields(
    client, recorder, django_capture_on_commit_callbacks
):  # R-PRV-4
    provider = provider_create(
        name="Recorder", api_url=f"http://127.0.0.1:{recorder.server_port}/api/v2", api_key="pk"
    )
    service = ServiceFactory(rate=Decimal("1.20"), min_quantity=10, max_quantity=1000)
    ProviderServiceFactory(service=service, provider=provider, provider_rate=Decimal("0.5"))
    customer = UserFactory(username="zebra_unique_name", email="zebra.secret@example.org",
                           first_name="Zed")  # fmt: skip
    fund(customer, deposited="5")
    _, key = api_key_issue(user=customer)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            "/api/v2", {"key": key, "action": "add", "service": service.pk,
                        "link": "https://www.instagram.com/p/abc/", "quantity": 100},
            REMOTE_ADDR="81.2.69.160",
        ).json()  # fmt: skip
    order = Order.objects.get(pk=answer["order"])
    assert order.provider_order_id == 9001
    Order.objects.filter(pk=order.pk).update(poll_due_at=F("created_at"))
    assert orders_poll() == 1

    sent = b"\n".join(recorder.requests)
    assert b"action=add" in sent
    assert b"action=status" in sent
    for secret in ("zebra_unique_name", "zebra.secret", "zebra.secret%40example.org", "Zed",
                   "81.2.69.160", key, str(customer.pk) + "&"):  # fmt: skip
        assert secret.encode() not in sent, secret
