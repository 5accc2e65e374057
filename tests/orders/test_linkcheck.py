"""R-ORD-15: a link that does not work cancels before delivery; fetching never reaches inside."""

import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from billing.selectors import balance_get
from catalog.links import LinkRule
from orders.linkcheck import address_is_public, link_check
from tests.catalog.factories import ProviderServiceFactory, ServiceFactory
from tests.orders.factories import funded_customer, place

D = Decimal


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.hits.append(self.path)
        if self.path.startswith("/gone"):
            self.send_response(404)
        elif self.path.startswith("/redirect-inside"):
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        elif self.path.startswith("/redirect-gone"):
            self.send_response(301)
            self.send_header("Location", "/gone")
        elif self.path.startswith("/error"):
            self.send_response(500)
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def target():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def hits(target):
    target.hits.clear()
    return target.hits


@pytest.fixture
def loopback_allowed(settings):
    """The tests' own server is on 127.0.0.1; only these tests may reach it."""
    settings.ORDERS_LINK_CHECK_ALLOWED_NETWORKS = ["127.0.0.1/32"]


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0",  # noqa: S104
     "100.64.0.1", "224.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"],
)  # fmt: skip
def test_private_loopback_and_link_local_addresses_are_refused(address):
    assert not address_is_public(address)


def test_public_addresses_are_allowed():
    assert address_is_public("93.184.216.34")
    assert address_is_public("2606:2800:220:1:248:1893:25c8:1946")


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:{port}/", "http://localhost:{port}/", "http://[::1]:{port}/",
     "http://[::ffff:127.0.0.1]:{port}/", "http://127.1:{port}/", "http://2130706433:{port}/"],
)  # fmt: skip
def test_the_check_never_fetches_loopback(target, hits, url):
    verdict = link_check(url.format(port=target.server_address[1]))
    assert verdict.refused
    assert not verdict.broken
    assert hits == []


def test_metadata_address_is_refused_without_a_connection():
    verdict = link_check("http://169.254.169.254/latest/meta-data/", timeout=0.5)
    assert verdict.refused
    assert "not a public address" in verdict.detail


def test_a_redirect_inside_is_refused(target, hits, loopback_allowed):
    verdict = link_check(f"http://127.0.0.1:{target.server_address[1]}/redirect-inside")
    assert verdict.refused
    assert hits == ["/redirect-inside"]


def test_404_after_a_redirect_is_broken(target, hits, loopback_allowed):
    verdict = link_check(f"http://127.0.0.1:{target.server_address[1]}/redirect-gone")
    assert (verdict.broken, verdict.detail) == (True, "HTTP 404")
    assert hits == ["/redirect-gone", "/gone"]


@pytest.mark.parametrize(("path", "broken"), [("/ok", False), ("/error", False), ("/gone", True)])
def test_only_a_definite_answer_is_broken(target, loopback_allowed, path, broken):
    assert link_check(f"http://127.0.0.1:{target.server_address[1]}{path}").broken is broken


def test_unresolvable_or_non_web_links_are_not_proof():
    assert not link_check("https://no-such-host.invalid/x", timeout=1).broken
    assert not link_check("someusername").broken


@pytest.mark.django_db
@pytest.mark.usefixtures("loopback_allowed")
def test_a_broken_link_cancels_the_order_with_a_full_return_before_sending(
    target, settings, sim_provider, simulator, django_capture_on_commit_callbacks
):  # R-ORD-15, R-ORD-8
    settings.ORDERS_LINK_CHECK = True
    service = ServiceFactory(link_rule=LinkRule.CUSTOM, link_pattern=r"https?://\S+",
                             rate=D("2.00"), min_quantity=10)  # fmt: skip
    ProviderServiceFactory(service=service, provider=sim_provider, remote_service_id="102",
                           provider_rate=D("0.45"))  # fmt: skip
    user = funded_customer(deposited="1", promotional="1")
    base = f"http://127.0.0.1:{target.server_address[1]}"
    with django_capture_on_commit_callbacks(execute=True):
        gone = place(user, service, link=f"{base}/gone/post", quantity=500)
        fine = place(user, service, link=f"{base}/ok/post", quantity=400)
    gone.refresh_from_db()
    fine.refresh_from_db()
    assert (gone.status, gone.relay_state, gone.refunded) == ("canceled", "closed", D("1.00"))
    assert "does not work (HTTP 404)" in gone.events.get(new_status="canceled").note
    assert (fine.status, fine.relay_state) == ("pending", "placed")
    assert simulator.adds_received == 1
    assert balance_get(user=user).total == D("2.00") - D("0.80")


@pytest.mark.django_db
@pytest.mark.usefixtures("simulator")
def test_a_link_to_an_inside_address_is_not_fetched_and_goes_on(
    target, hits, settings, sim_provider, django_capture_on_commit_callbacks
):
    settings.ORDERS_LINK_CHECK = True
    service = ServiceFactory(
        link_rule=LinkRule.CUSTOM, link_pattern=r"https?://\S+", min_quantity=10
    )
    ProviderServiceFactory(service=service, provider=sim_provider, remote_service_id="102",
                           provider_rate=D("0.45"))  # fmt: skip
    user = funded_customer(deposited="5")
    with django_capture_on_commit_callbacks(execute=True):
        order = place(user, service, link=f"http://127.0.0.1:{target.server_address[1]}/gone")
    order.refresh_from_db()
    assert hits == []
    assert order.relay_state == "placed"  # not proof of a broken link; the provider decides
    assert order.events.filter(staff_only=True, note__startswith="Link not fetched").exists()
