"""The orders pages through Django's test client: forms, errors beside fields, ownership."""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog.models import Service
from orders.models import Order, OrderEvent
from orders.services import order_staff_progress
from tests.catalog.factories import ServiceFactory
from tests.factories import StaffFactory, UserFactory
from tests.orders.factories import LINK, OrderFactory, funded_customer, place

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def service():
    return ServiceFactory(
        name="Followers [Real]", rate=D("1.20"), min_quantity=50, max_quantity=10000, cancel=True,
        description="Real-looking profiles.",
    )  # fmt: skip


@pytest.fixture
def user():
    return funded_customer(deposited="10")


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def _errors_beside(html: str, field: str) -> str:
    """The error list right after the field's input, as includes/field.html renders it."""
    match = re.search(rf'id="id_{field}".*?(<ul class="errorlist"[^>]*>.*?</ul>)', html, re.S)
    return match.group(1) if match else ""


@pytest.mark.parametrize("url", ["/orders/", "/orders/new/", "/orders/mass/", "/orders/1/"])
def test_pages_need_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_new_order_page_lists_services_at_the_customers_rates(signed_in, service):
    response = signed_in.get(f"/orders/new/?service={service.pk}")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<option value="{service.pk}" selected>#{service.pk} Followers [Real] — $1.20' in html
    assert '<script id="services-data" type="application/json">' in html
    assert "Real-looking profiles." in html
    assert 'name="idempotency_key"' in html


def test_new_order_places_and_shows_the_order(signed_in, service, user):
    response = signed_in.post(
        "/orders/new/",
        {"service": service.pk, "link": LINK, "quantity": "2500", "idempotency_key": "web-1"},
    )
    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{order.pk}/"
    assert (order.user, order.source, order.charge, order.quantity) == (
        user,
        "web",
        D("3.00"),
        2500,
    )
    page = signed_in.get(response["Location"]).content.decode()
    assert f"Order #{order.pk} placed: $3.00." in page


def test_a_double_submit_places_one_order(signed_in, service):
    form = {"service": service.pk, "link": LINK, "quantity": "100", "idempotency_key": "web-2"}
    first = signed_in.post("/orders/new/", form)
    second = signed_in.post("/orders/new/", form)
    assert first["Location"] == second["Location"]
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"quantity": "10"}, "quantity", "The minimum for this service is 50."),
        ({"quantity": "20000"}, "quantity", "The maximum for this service is 10000."),
        ({"link": "https://example.com/x"}, "link", "This service needs a instagram link"),
        ({"quantity": ""}, "quantity", "Enter the quantity."),
    ],
)
def test_refusals_show_beside_their_field(signed_in, service, fields, field, message):
    data = {"service": service.pk, "link": LINK, "quantity": "100", **fields}
    response = signed_in.post("/orders/new/", data)
    assert response.status_code == 200
    assert message in _errors_beside(response.content.decode(), field)
    assert not Order.objects.exists()


def test_not_enough_funds_shows_above_the_form_and_keeps_the_input(client, service):
    client.force_login(funded_customer(deposited="1"))
    response = client.post(
        "/orders/new/", {"service": service.pk, "link": LINK, "quantity": "1000"}
    )
    html = response.content.decode()
    assert 'id="form-errors"' in html
    assert "does not cover this order&#x27;s charge of $1.20" in html
    assert f'value="{LINK}"' in html


def test_an_unknown_service_is_refused_beside_the_service(signed_in, service):
    response = signed_in.post("/orders/new/", {"service": 999999, "link": LINK, "quantity": "100"})
    assert "not available" in _errors_beside(response.content.decode(), "service")


def test_drip_feed_needs_runs_and_interval(signed_in):
    drip = ServiceFactory(dripfeed=True, min_quantity=10)
    data = {"service": drip.pk, "link": LINK, "quantity": "100", "dripfeed": "on"}
    response = signed_in.post("/orders/new/", data)
    assert "Needed for drip-feed." in _errors_beside(response.content.decode(), "runs")
    response = signed_in.post("/orders/new/", {**data, "runs": "4", "interval": "15"})
    assert response.status_code == 302
    assert Order.objects.get(parent=None).quantity == 400
    assert Order.objects.filter(portion__isnull=False).count() == 4  # R-ORD-10


def test_custom_comments_from_the_form(signed_in):
    comments = ServiceFactory(type=Service.Type.CUSTOM_COMMENTS, rate=D("9"), min_quantity=2)
    response = signed_in.post(
        "/orders/new/", {"service": comments.pk, "link": LINK, "comments": "Nice\n\nGreat\nWow"}
    )
    assert response.status_code == 302
    assert Order.objects.get().quantity == 3


def test_csrf_is_enforced(user, service):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/orders/new/", {"service": service.pk, "link": LINK, "quantity": 100})
    assert response.status_code == 403


def test_mass_order_places_good_lines_and_reports_bad_ones(signed_in, service, user):
    text = "\n".join(
        [
            f"{service.pk} | https://www.instagram.com/a/ | 100",
            f"{service.pk} | https://www.instagram.com/b/ | 10",  # below min
            "",
            "not a line",
            "999999 | https://www.instagram.com/c/ | 100",  # unknown service
            f"{service.pk} | https://www.instagram.com/a/ | 100",  # overlaps line 1
            f"{service.pk}|https://www.instagram.com/d/|200",
        ]
    )
    response = signed_in.post("/orders/mass/", {"orders": text})
    html = response.content.decode()
    assert response.status_code == 200
    assert "2 orders placed for $0.36; 4 lines refused" in html
    rows = re.findall(r'<tr class="mass-line (mass-ok|mass-refused)[^"]*" data-line="(\d+)">', html)
    assert rows == [
        ("mass-ok", "1"), ("mass-refused", "2"), ("mass-refused", "4"), ("mass-refused", "5"),
        ("mass-refused", "6"), ("mass-ok", "7"),
    ]  # fmt: skip
    assert "The minimum for this service is 50." in html
    assert "Write it as: service ID | link | quantity." in html
    assert "does not exist or is not available" in html
    assert "already have an active order" in html
    assert sorted(Order.objects.values_list("link", "source")) == [
        ("https://www.instagram.com/a/", "mass"), ("https://www.instagram.com/d/", "mass")
    ]  # fmt: skip


def test_mass_order_refuses_too_many_lines(signed_in, service, settings):
    settings.ORDERS_MASS_MAX_LINES = 3
    text = "\n".join(f"{service.pk} | https://www.instagram.com/{n}/ | 100" for n in range(4))
    response = signed_in.post("/orders/mass/", {"orders": text})
    assert "At most 3 lines at a time; this has 4." in response.content.decode()
    assert not Order.objects.exists()


def test_orders_list_shows_only_the_customers_orders(signed_in, user, service):
    mine = place(user, service)
    theirs = place(funded_customer(deposited="5"), service)
    html = signed_in.get("/orders/").content.decode()
    assert f'data-order-id="{mine.pk}"' in html
    assert f'data-order-id="{theirs.pk}"' not in html
    assert "Pending" in html


def test_orders_list_filters_by_status_and_searches(signed_in, user, service):
    first = place(user, service, link="https://www.instagram.com/alpha/")
    second = place(user, service, link="https://www.instagram.com/beta/")
    order_staff_progress(order_id=second.pk, status="completed", actor=StaffFactory())

    def ids(query):
        html = signed_in.get(f"/orders/?{query}").content.decode()
        return [int(i) for i in re.findall(r'data-order-id="(\d+)"', html)]

    assert ids("") == [second.pk, first.pk]
    assert ids("status=completed") == [second.pk]
    assert ids("status=pending") == [first.pk]
    assert ids("q=ALPHA") == [first.pk]
    assert ids(f"q={second.pk}") == [second.pk]
    assert ids(f"q=%23{first.pk}") == [first.pk]
    assert ids("status=completed&q=alpha") == []


def test_keyset_pages_go_older_and_back_newer(signed_in, user, settings):
    settings.ORDERS_PAGE_SIZE = 2
    orders = OrderFactory.create_batch(5, user=user)
    newest = [o.pk for o in reversed(orders)]

    def page(query):
        html = signed_in.get(f"/orders/?{query}").content.decode()
        older = re.search(r'id="page-older" href="\?([^"]+)"', html)
        newer = re.search(r'id="page-newer" href="\?([^"]+)"', html)
        found = [int(i) for i in re.findall(r'data-order-id="(\d+)"', html)]
        clean = lambda m: m.group(1).replace("&amp;", "&") if m else None  # noqa: E731
        return found, clean(older), clean(newer)

    first, older, newer = page("")
    assert (first, newer) == (newest[:2], None)
    second, older, newer = page(older)
    assert second == newest[2:4]
    third, older_end, newer = page(older)
    assert (third, older_end) == (newest[4:], None)
    back, _, _ = page(newer)
    assert back == newest[2:4]


def test_the_list_reads_a_fixed_number_of_rows_without_count(signed_in, user, settings):
    settings.ORDERS_PAGE_SIZE = 10
    OrderFactory.create_batch(30, user=user)
    with CaptureQueriesContext(connection) as queries:
        signed_in.get("/orders/?status=pending&before=999999")
    order_queries = [q["sql"] for q in queries if '"orders_order"' in q["sql"]]
    assert len(order_queries) == 2  # the page's ids, then those rows
    ids, rows = order_queries
    assert ids.startswith('SELECT "orders_order"."id" AS "pk" FROM "orders_order" WHERE')
    assert ids.endswith("ORDER BY 1 DESC LIMIT 11")
    assert '"orders_order"."id" IN (' in rows
    for sql in order_queries:
        assert "COUNT(" not in sql.upper()
        assert "OFFSET" not in sql.upper()


def test_csv_export_has_the_filtered_orders_and_defuses_formulas(signed_in, user):
    formula = ServiceFactory(link_rule="custom", link_pattern=r"\S+", min_quantity=1)
    place(user, formula, link='=HYPERLINK("http://evil")', quantity=10)
    place(user, formula, link="https://example.com/ok", quantity=20)
    response = signed_in.get("/orders/export.csv?q=example")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["ID", "Date (UTC)", "Service", "Link"]
    assert [row[3] for row in rows[1:]] == ["https://example.com/ok"]
    rows = list(
        csv.reader(
            io.StringIO(b"".join(signed_in.get("/orders/export.csv").streaming_content).decode())
        )
    )
    links = [row[3] for row in rows[1:]]
    assert '\'=HYPERLINK("http://evil")' in links
    assert [row[8] for row in rows[1:]] == ["Pending", "Pending"]


def test_order_page_shows_its_history_without_relay_details(signed_in, user, service):
    order = place(user, service, quantity=1000)
    OrderEvent.objects.create(
        order=order, old_status="pending", new_status="pending", cause="system",
        note="Sent to SecretProvider", staff_only=True,
    )  # fmt: skip
    order_staff_progress(order_id=order.pk, status="in_progress", actor=StaffFactory(),
                         start_count=1234, remains=400)  # fmt: skip
    html = signed_in.get(f"/orders/{order.pk}/").content.decode()
    assert "SecretProvider" not in html
    history = re.findall(r'<li class="list-group-item[^"]*history-event">(.*?)</li>', html, re.S)
    assert len(history) == 2
    assert "Pending" in history[0]
    assert "by customer" in history[0]
    assert "Pending &rarr; In progress" in history[1]
    assert "by staff" in history[1]
    assert '<dd class="col-sm-7 money" id="order-start-count">1234</dd>' in html
    assert "400 <span" in html
    assert "(600 delivered)" in html
    assert "$1.20" in html
    assert "can no longer be canceled" in html
    assert 'id="cancel-order"' not in html


def test_someone_elses_order_is_a_404(client, user, service):
    order = place(user, service)
    client.force_login(UserFactory())
    assert client.get(f"/orders/{order.pk}/").status_code == 404
    assert client.post(f"/orders/{order.pk}/cancel/").status_code == 404
    assert Order.objects.get().status == "pending"


def test_cancel_from_the_order_page(signed_in, user, service):  # R-ORD-6
    order = place(user, service, quantity=1000)
    html = signed_in.get(f"/orders/{order.pk}/").content.decode()
    assert 'id="cancel-order"' in html
    assert signed_in.get(f"/orders/{order.pk}/cancel/").status_code == 405
    response = signed_in.post(f"/orders/{order.pk}/cancel/", follow=True)
    assert "is canceled; $1.20 is back." in response.content.decode()
    order.refresh_from_db()
    assert order.status == "canceled"
