"""R-PRV-2: first-party statistics only, and the operator dashboard built from daily rows."""

import re
from decimal import Decimal

import pytest
from allauth.mfa.models import Authenticator
from django.utils import timezone

from accounts.services import sign_in_record
from billing.services.deposits import deposit_manual_create
from orders.models import Order
from stats.models import DailyFigures, DailyVisit, Snapshot
from stats.services import stats_refresh
from tests.factories import StaffFactory, UserFactory
from tests.orders.factories import funded_customer, place

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    staff = StaffFactory()
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(staff)
    return client


def test_pages_visited_are_counted_first_party(client, customer, terms):  # R-PRV-2
    client.force_login(customer)
    for _ in range(3):
        assert client.get("/account/", REMOTE_ADDR="81.2.69.160").status_code == 200
    client.get("/legal/terms/", REMOTE_ADDR="8.8.8.8")
    assert not DailyVisit.objects.exists()  # counted in Redis first, no write per page view
    stats_refresh()
    visits = {(v.page, v.country): v.count for v in DailyVisit.objects.all()}
    assert visits[("accounts:overview", "GB")] == 3
    assert visits[("legal:document", "US")] == 1
    stats_refresh()  # flushing twice counts nothing twice
    assert DailyVisit.objects.get(page="accounts:overview").count == 3


def test_daily_figures_money_orders_and_people(routed_service):  # R-PRV-2
    staff = StaffFactory()
    customer = funded_customer()
    deposit_manual_create(user=customer, amount=Decimal("50"), memo="cash", actor=staff)
    placed = place(customer, routed_service, quantity=1000)  # 1.20 at 1.20 per 1,000
    Order.objects.filter(pk=placed.pk).update(status="completed")
    sign_in_record(user=customer, ip_address="81.2.69.160")
    sign_in_record(user=UserFactory(date_joined=timezone.now() - timezone.timedelta(days=40)),
                   ip_address="8.8.8.8")  # fmt: skip
    stats_refresh()
    today = DailyFigures.objects.get(day=timezone.now().date())
    assert today.deposits == Decimal("50")
    assert today.sales == Decimal("1.2")
    assert today.orders == 1
    assert today.orders_by_status == {"completed": 1}
    assert today.sign_ins == 2
    assert (today.sign_ins_new, today.sign_ins_returning) == (1, 1)
    assert today.countries == {"GB": 1, "US": 1}


def test_provider_cost_and_gross_profit(routed_service):  # R-PRV-2
    customer = funded_customer(deposited="10")
    order = place(customer, routed_service, quantity=1000)
    route = routed_service.provider_services.get()
    Order.objects.filter(pk=order.pk).update(status="completed", provider_service=route)
    stats_refresh()
    today = DailyFigures.objects.get(day=timezone.now().date())
    assert today.provider_cost == Decimal("0.45")  # 0.45 per 1,000 at the provider
    assert today.gross_profit == Decimal("0.75")


def test_dashboard_renders_for_admins_only(
    client, admin_client, routed_service, customer
):  # R-PRV-2
    funded = funded_customer(deposited="10")
    place(funded, routed_service, quantity=1000)
    stats_refresh()
    page = admin_client.get("/staff/dashboard/")
    assert page.status_code == 200
    html = page.content.decode()
    for part in ("Revenue (deposits)", "Gross profit", 'id="orders-by-status"', 'id="stuck-orders"',
                 'id="provider-health"', "Open tickets", "<svg"):  # fmt: skip
        assert part in html, part
    assert "<script>" not in html  # charts are drawn on the server (CSP)

    client.logout()
    client.force_login(customer)
    assert client.get("/staff/dashboard/").status_code == 302  # to the admin's sign-in


def test_dashboard_reads_only_its_own_rows(admin_client, django_assert_max_num_queries):  # R-PRV-2
    stats_refresh()
    with django_assert_max_num_queries(12) as queries:
        admin_client.get("/staff/dashboard/")
    assert not any("orders_order" in q["sql"] for q in queries.captured_queries)


def test_no_third_party_scripts_or_trackers_anywhere(
    client, customer, terms, admin_client
):  # R-PRV-2
    """Every page and the CSP name only our own origin (and the payment processor's Stripe.js)."""
    from django.conf import settings

    stripe_js = "/".join(settings.STRIPE_JS_URL.split("/")[:3])
    stripe_api = "/".join(settings.STRIPE_API_BASE.split("/")[:3])
    allowed = {stripe_js, stripe_api, "https://hooks.stripe.com"}  # the payment processor only
    pages = ["/", "/services/", "/legal/terms/", "/legal/privacy/", "/accounts/login/",
             "/accounts/signup/"]  # fmt: skip
    private = ["/dashboard/", "/account/", "/account/privacy/", "/account/api/", "/orders/new/",
               "/orders/", "/billing/add-funds/"]  # fmt: skip
    responses = [client.get(url) for url in pages]
    client.force_login(customer)
    responses += [client.get(url) for url in private]
    responses.append(admin_client.get("/staff/dashboard/"))
    for response in responses:
        html = response.content.decode()
        hosts = set(re.findall(r'(?:src|href|action)="(https?://[^/"]+)', html))
        assert hosts <= {"http://testserver"}, (response.request["PATH_INFO"], hosts)
        csp = response.get("Content-Security-Policy", "")
        assert csp, response.request["PATH_INFO"]
        assert set(re.findall(r"https?://[^\s;]+", csp)) <= allowed, csp


def test_dashboard_renders_with_demo_data(admin_client):  # R-PRV-2, issue 13 "make run"
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("demo_data", stdout=out)
    assert "/staff/dashboard/" in out.getvalue()
    html = admin_client.get("/staff/dashboard/").content.decode()
    assert "Pending" in html  # the demo orders, by status


def test_provider_health_error_rate_by_class_and_latency(
    admin_client, sim_provider, simulator
):  # R-PRV-2
    from catalog.provider_client import ProviderClient

    client = ProviderClient(sim_provider)
    assert client.balance().ok
    simulator.inject("http_error", action="balance", times=1, status=503)
    assert not client.balance().ok
    stats_refresh()
    html = admin_client.get("/staff/dashboard/").content.decode()
    health = Snapshot.objects.get(key="live").data["providers"][0]
    assert health["calls"] == 2
    assert health["error_rate"] == 50.0
    assert health["errors_by_reason"] == {"http_error": 1}  # the client's class for a 503
    assert health["latency_ms"] is not None
    assert "50.0 %" in html


def test_open_tickets_are_counted_from_the_support_desk(admin_client, customer):  # R-SUP-1
    from support.models import Ticket
    from support.services import ticket_close, ticket_open, ticket_reply_staff

    def _open(subject):
        return ticket_open(user=customer, kind=Ticket.Kind.OTHER, subject=subject, body="Help.")

    _open("waiting")
    ticket_reply_staff(ticket_id=_open("answered").pk, actor=StaffFactory(), body="Done?")
    closed = _open("closed")
    ticket_close(ticket_id=closed.pk, actor=customer, user=customer)
    stats_refresh()
    assert Snapshot.objects.get(key="live").data["open_tickets"] == 2
    html = admin_client.get("/staff/dashboard/").content.decode()
    assert "Open tickets: <strong>2</strong>" in html


def test_dashboard_money_follows_the_one_display_rule(admin_client):  # R-PRV-2, issue 14
    """Totals, bar titles and chart scales all go through billing.money.usd_text: whole cents
    as "$10.00", a sum of sub-cent charges at the ledger's precision ("$3.0051")."""
    today = timezone.now().date()
    DailyFigures.objects.create(
        day=today - timezone.timedelta(days=1), deposits=Decimal("4"), sales=Decimal("1.5"),
        provider_cost=Decimal("0.6"), gross_profit=Decimal("0.9"), orders=3,
    )  # fmt: skip
    DailyFigures.objects.create(
        day=today, deposits=Decimal("6"), sales=Decimal("1.5051"), provider_cost=Decimal("0.5"),
        gross_profit=Decimal("1.0051"), orders=12,
    )  # fmt: skip
    html = admin_client.get("/staff/dashboard/").content.decode()
    money = dict(
        re.findall(r'small text-muted">([^<]+)</div><div class="fs-5 money">([^<]+)<', html)
    )
    assert money == {
        "Revenue (deposits)": "$10.00",
        "Sales": "$3.0051",
        "Provider cost": "$1.10",
        "Gross profit": "$1.9051",
    }
    titles = re.findall(r"<title>([^<]+)</title>", html)
    day = today.strftime("%m-%d")
    for title in (f"{day}: $6.00", f"{day}: $1.5051", f"{day}: $0.50", f"{day}: 12"):
        assert title in titles, title
    assert "max $6.00" in html  # the deposits chart's scale
    assert "max 12<" in html  # orders are counted, not money
    assert not re.search(r"\d\.\d{5}", html)  # no raw ledger decimals anywhere
