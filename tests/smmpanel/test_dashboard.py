"""The customer dashboard (issue 14): balance with its split, spend this month, orders by
status with links, recent orders, unread notices with mark-read, open tickets when the
support desk has them."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notice
from accounts.services import notice_send
from billing.selectors import spend_since
from orders.services import order_staff_partial
from tests.catalog.factories import ServiceFactory
from tests.factories import UserFactory
from tests.orders.factories import funded_customer, place

pytestmark = pytest.mark.django_db
MINUS = "\u2212"


@pytest.fixture
def shopper():
    user = funded_customer(deposited="20", promotional="1.50")
    service = ServiceFactory(rate=Decimal("0.31500"))
    first = place(user, service, quantity=1000)  # $0.315
    place(user, service, quantity=2000, link="https://www.instagram.com/other/")  # $0.63
    order_staff_partial(order_id=first.pk, remains=500, actor=None, reason="test")  # 0.1575 back
    return user


def test_dashboard_shows_balance_split_and_spend_this_month(client, shopper):
    client.force_login(shopper)
    page = client.get(reverse("dashboard")).content.decode()
    # 21.50 - 0.945 + 0.1575 = 20.7125
    assert 'id="dash-balance-total">$20.7125<' in page
    assert 'id="dash-promotional">$0.7125<' in page  # Promotional Credit paid first (R-BAL-4)
    assert 'id="dash-deposited">$20.00<' in page
    assert 'id="dash-spend-month">$0.7875<' in page  # charges less the Partial's return
    assert "dash-owed" not in page


def test_spend_since_counts_only_order_money_after_the_date(shopper):
    start = timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    assert spend_since(user=shopper, since=start) == Decimal("0.78750")
    assert spend_since(user=shopper, since=timezone.now() + timezone.timedelta(days=1)) == 0
    assert spend_since(user=UserFactory(), since=start) == 0


def test_orders_by_status_link_to_the_filtered_list_and_recent_orders_show(client, shopper):
    client.force_login(shopper)
    page = client.get(reverse("dashboard")).content.decode()
    assert f'href="{reverse("orders:list")}?status=partial"' in page
    assert f'href="{reverse("orders:list")}?status=pending"' in page
    assert "returned $0.1575" in page
    assert page.count('href="/orders/') >= 2
    filtered = client.get(reverse("orders:list") + "?status=partial").content.decode()
    assert filtered.count('class="order-row"') == 1


def test_unread_notices_show_and_mark_read(client, customer):
    other = UserFactory()
    mine = notice_send(user=customer, kind="test", subject="New Terms", url="/legal/terms/")
    theirs = notice_send(user=other, kind="test", subject="Not yours")
    client.force_login(customer)
    page = client.get(reverse("dashboard")).content.decode()
    assert "New Terms" in page
    assert "Not yours" not in page
    # someone else's notice is left alone
    client.post(reverse("accounts:notice_read", args=[theirs.pk]))
    assert Notice.objects.get(pk=theirs.pk).read_at is None
    response = client.post(reverse("accounts:notice_read", args=[mine.pk]), {"next": "/orders/"})
    assert response.status_code == 302
    assert response.url == "/orders/"
    assert Notice.objects.get(pk=mine.pk).read_at is not None
    assert 'id="no-notices"' in client.get(reverse("dashboard")).content.decode()


def test_mark_all_read_ignores_an_outside_next(client, customer):
    notice_send(user=customer, kind="test", subject="One")
    notice_send(user=customer, kind="test", subject="Two")
    client.force_login(customer)
    response = client.post(reverse("accounts:notices_read"), {"next": "https://evil.example/"})
    assert response.url == reverse("dashboard")
    assert not Notice.objects.filter(user=customer, read_at__isnull=True).exists()
    assert client.get(reverse("accounts:notices_read")).status_code == 405


def test_a_new_customer_sees_an_empty_but_useful_dashboard(client, customer):
    client.force_login(customer)
    page = client.get(reverse("dashboard")).content.decode()
    assert 'id="dash-balance-total">$0.00<' in page
    assert 'id="dash-spend-month">$0.00<' in page
    assert "Place your first order" in page


def test_open_tickets_show_on_the_dashboard(client, customer):  # issue 14, R-SUP-1
    from support.models import Ticket
    from support.services import ticket_close, ticket_open

    def _open(user, subject):
        return ticket_open(user=user, kind=Ticket.Kind.OTHER, subject=subject, body="Help.")

    _open(customer, "Still open here")
    done = _open(customer, "Closed one")
    ticket_close(ticket_id=done.pk, actor=customer, user=customer)
    _open(UserFactory(), "Someone else's")
    client.force_login(customer)
    html = client.get(reverse("dashboard")).content.decode()
    assert 'id="dash-tickets"' in html
    assert "Still open here" in html
    assert "Closed one" not in html
    assert "Someone else" not in html
