"""Every page a customer can open, on the demo data: shared by the money-format test and
the browser tests (issue 14). A page another app adds is picked up when its URL name is
listed here; names that do not exist yet are skipped."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import NoReverseMatch, reverse

from accounts.demo import DEMO_CUSTOMER

# URL names of pages without arguments (a missing one is skipped: another app adds it).
PAGES = [
    "dashboard",
    "orders:list",
    "orders:new",
    "orders:mass",
    "catalog:list",
    "catalog:updates",
    "billing:history",
    "billing:add_funds",
    "accounts:overview",
    "accounts:api",
    "support:list",
    "support:new",
    "orders:refills",
    "billing:withdrawals",
    "billing:affiliates",
    "billing:account_close",
    "accounts:privacy",
    "abuse:report",
    # allauth's pages in the panel's frame: e-mail addresses, password, two-factor
    "account_email",
    "account_change_password",
    "mfa_index",
]
CSV_PAGES = ["orders:export", "billing:history_csv"]


def demo_customer(stdout=None):
    """The demo data (``manage.py demo_data``) plus what a customer's pages show only after a
    while: an order ended Partial and one Canceled (returns), a fractional-cent charge."""
    import io

    from billing.models import Deposit
    from orders.models import Order
    from orders.services import order_staff_cancel, order_staff_partial

    call_command("demo_data", stdout=stdout or io.StringIO())
    user = get_user_model().objects.get(username=DEMO_CUSTOMER[0])
    staff = get_user_model().objects.filter(is_staff=True).first()
    open_orders = list(Order.objects.filter(user=user, status="pending").order_by("pk"))
    if len(open_orders) >= 2:
        partial, canceled = open_orders[0], open_orders[-1]
        order_staff_partial(
            order_id=partial.pk, remains=partial.quantity // 3, actor=staff, reason="demo"
        )
        order_staff_cancel(order_id=canceled.pk, actor=staff, reason="demo")
    assert Deposit.objects.filter(user=user).exists()
    assert Order.objects.filter(user=user, charge__gt=Decimal(0)).exists()
    return user


def customer_urls(user) -> list[str]:
    """The customer's pages: the fixed ones, each of their orders, deposits and tickets."""
    from billing.models import Deposit
    from orders.models import Order
    from support.models import Ticket

    urls = []
    for name in PAGES:
        try:
            urls.append(reverse(name))
        except NoReverseMatch:
            continue
    orders = Order.objects.filter(user=user).values_list("pk", flat=True)
    urls += [reverse("orders:detail", args=[order_id]) for order_id in orders]
    deposits = Deposit.objects.filter(user=user).values_list("pk", flat=True)
    urls += [reverse("billing:deposit_detail", args=[deposit_id]) for deposit_id in deposits]
    tickets = Ticket.objects.filter(user=user).values_list("pk", flat=True)
    urls += [reverse("support:detail", args=[ticket_id]) for ticket_id in tickets]
    return urls


def csv_urls() -> list[str]:
    return [reverse(name) for name in CSV_PAGES]


class PageWatch:
    """Collects what a customer would see go wrong: script errors, console errors, requests
    that failed or answered 4xx/5xx."""

    def __init__(self, page):
        self.problems: list[str] = []
        self.in_flight = 0
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on(
            "console",
            lambda msg: (
                self.problems.append(f"console: {msg.text}") if msg.type == "error" else None
            ),
        )
        page.on("requestfailed", self._failed)
        page.on(
            "response",
            lambda response: (
                self.problems.append(f"{response.status}: {response.url}")
                if response.status >= 400
                else None
            ),
        )

    def _started(self, request) -> None:
        self.in_flight += 1

    def _ended(self, request) -> None:
        self.in_flight = max(0, self.in_flight - 1)

    def settle(self, page, quiet_ms: int = 150, most_ms: int = 15_000) -> None:
        """Wait until the page has had no request in flight for ``quiet_ms``: what its scripts
        fetch after load is seen on this page. Playwright's "networkidle" waits 500 ms of
        quiet on every page; this keeps the browser tests' time down on CI's 2 cores."""
        quiet = waited = 0
        while quiet < quiet_ms:
            if waited >= most_ms:
                self.problems.append(f"{self.in_flight} requests still loading after {most_ms} ms")
                return
            page.wait_for_timeout(25)  # lets Playwright deliver the page's events
            waited += 25
            quiet = 0 if self.in_flight else quiet + 25

    def _failed(self, request) -> None:
        self._ended(request)
        # The browser itself drops what a page still loads (its favicon, say) when the
        # customer moves on: net::ERR_ABORTED is that, never the server failing. A missing
        # file or a server error still shows as a response of 4xx/5xx below.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"failed: {request.url} {request.failure}")

    def take(self) -> list[str]:
        problems, self.problems = self.problems, []
        return problems
