"""Reads of the catalog: prices per customer (R-CAT-6), the services page, provider routes."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from billing.money import ZERO, quantize
from smmpanel.readcache import cached

from .exceptions import LinkRejected
from .links import EXAMPLES, LinkRule
from .models import (
    Category,
    CustomRate,
    Provider,
    ProviderService,
    Service,
    ServiceUpdate,
    orderable_service_types,
)

HUNDRED = Decimal(100)
# The read cache's stamps (smmpanel.readcache): every service row, one customer's rates.
SERVICES_STAMP = "services"


def rates_stamp(user_id: int) -> str:
    return f"rates:{user_id}"


def _discounted(rate: Decimal, percent: Decimal) -> Decimal:
    return quantize(rate * (HUNDRED - percent) / HUNDRED)


@dataclass
class RateBook:
    """One customer's custom rates, loaded in one query; prices any number of services."""

    per_service: dict[int, CustomRate] = field(default_factory=dict)
    discount_percent: Decimal | None = None

    def rate(self, service: Service) -> Decimal:
        """The price per 1,000 this customer pays for ``service`` (R-CAT-6)."""
        custom = self.per_service.get(service.pk)
        if custom is not None:
            if custom.rate is not None:
                return quantize(custom.rate)
            return _discounted(service.rate, custom.discount_percent or ZERO)
        if self.discount_percent is not None:
            return _discounted(service.rate, self.discount_percent)
        return quantize(service.rate)


def _book(rows) -> RateBook:
    book = RateBook()
    for custom in rows:
        if custom.service_id is None:
            book.discount_percent = custom.discount_percent
        else:
            book.per_service[custom.service_id] = custom
    return book


def rate_book_for_user(*, user) -> RateBook:
    """All of a customer's custom rates in one query; visitors get an empty book (base rates).

    Served from the read cache until a rate of the customer's changes (``custom_rate_set``).
    """
    if user is None or not user.is_authenticated:
        return RateBook()
    return cached(rates_stamp(user.pk), "book", lambda: _book(CustomRate.objects.filter(user=user)))


def service_rate_for_user(*, user, service: Service) -> Decimal:
    """The live price per 1,000 of ``service`` for ``user`` (custom rates applied, R-CAT-6)."""
    if user is None or not user.is_authenticated:
        return quantize(service.rate)
    rows = CustomRate.objects.filter(Q(service=service) | Q(service__isnull=True), user=user)
    return _book(rows).rate(service)


def service_for_order(*, service_id: int) -> Service | None:
    """The enabled service ``service_id`` as an order snapshots it, or None.

    Served from the read cache until any service is saved (``catalog.services``,
    ``catalog.sync``, ``catalog.signals``); unknown and disabled ones are read each time.
    """
    return cached(
        SERVICES_STAMP,
        str(service_id),
        lambda: Service.objects.filter(pk=service_id, enabled=True).first(),
    )


def service_get_orderable(*, service_id) -> Service:
    """An enabled service; raises ``Service.DoesNotExist`` for an unknown or disabled one."""
    return Service.objects.select_related("category").get(pk=service_id, enabled=True)


def service_link_check(*, service: Service, link: str) -> str:
    """The link, stripped, if it fits the service's rule; else ``LinkRejected`` (R-ORD-3)."""
    link = (link or "").strip()
    if service.link_is_valid(link):
        return link
    if service.link_rule == LinkRule.CUSTOM:
        raise LinkRejected(_("This link does not have the form this service needs."))
    example = EXAMPLES.get(LinkRule(service.link_rule), "")
    label = LinkRule(service.link_rule).label
    raise LinkRejected(
        _("This service needs a %(kind)s, for example %(example)s.")
        % {"kind": str(label).lower(), "example": example}
    )


def provider_services_ranked(*, service: Service) -> list[ProviderService]:
    """The routes the order relay may use for ``service``, best first.

    Enabled routes, still offered by an active provider, whose cost does not exceed the
    service's price (R-CAT-3: never relay at a loss), by priority then age.
    """
    return list(
        ProviderService.objects.select_related("provider")
        .filter(
            service=service,
            enabled=True,
            available=True,
            provider__status=Provider.Status.ACTIVE,
            provider_rate__lte=service.rate,
        )
        .order_by("priority", "id")
    )


@dataclass(frozen=True)
class ServiceFilters:
    q: str = ""
    platform: str = ""
    category_id: int | None = None
    refill: bool = False
    dripfeed: bool = False


def services_for_user(*, user, filters: ServiceFilters | None = None) -> list[Service]:
    """Enabled services of an orderable type (``ORDERABLE_TYPES``) matching ``filters``,
    ordered by category, each with ``.user_rate``. ``.refill`` reads False for a service whose
    every route answered ``refill`` with a server error (``orders.RefillUnsupported``,
    R-ORD-13): no refill is offered for it, on the page or in the API.

    Two queries whatever the number of services: the custom rates and the services.
    """
    filters = filters or ServiceFilters()
    routes = ProviderService.objects.filter(service=OuterRef("pk"), enabled=True)
    refill_offered = Q(refill=True) & (
        Exists(routes.filter(refill_unsupported__isnull=True))
        | ~Exists(routes.filter(refill_unsupported__isnull=False))
    )
    queryset: QuerySet[Service] = (
        Service.objects.filter(enabled=True, type__in=orderable_service_types())
        .select_related("category")
        .annotate(refill_offered=refill_offered)
    )
    if filters.q:
        term = filters.q.strip()
        match = Q(name__icontains=term) | Q(category__name__icontains=term)
        if term.isdigit():
            match |= Q(pk=int(term))
        queryset = queryset.filter(match)
    if filters.platform:
        queryset = queryset.filter(category__platform=filters.platform)
    if filters.category_id:
        queryset = queryset.filter(category_id=filters.category_id)
    if filters.refill:
        queryset = queryset.filter(refill_offered)
    if filters.dripfeed:
        queryset = queryset.filter(dripfeed=True)
    queryset = queryset.order_by(
        "category__position", "category__name", "category_id", "position", "id"
    )
    book = rate_book_for_user(user=user)
    services = list(queryset)
    for service in services:
        service.user_rate = book.rate(service)  # type: ignore[attr-defined]
        service.refill = service.refill_offered  # type: ignore[attr-defined]
    return services


def categories_with_enabled_services() -> list[Category]:
    return list(
        Category.objects.filter(
            services__enabled=True, services__type__in=orderable_service_types()
        )
        .distinct()
        .order_by("position", "name")
    )


def service_updates_recent() -> QuerySet[ServiceUpdate]:
    return ServiceUpdate.objects.select_related("service", "service__category").order_by(
        "-created_at", "-id"
    )


def routes_below_cost() -> QuerySet[ProviderService]:
    """Routes whose provider price is above the service's price (for staff)."""
    return ProviderService.objects.filter(provider_rate__gt=F("service__rate"))


def custom_rates_for_user(*, user) -> list[CustomRate]:
    """The customer's own prices (R-CAT-6): the all-services discount first, then per service."""
    return list(
        CustomRate.objects.filter(user=user).select_related("service").order_by("service_id", "id")
    )


# --- Mass Order's example line (issue 14) ---
def mass_order_example() -> str:
    """A line Mass Order would accept: the first enabled Default service as the catalog lists
    it, its link form and a quantity within its limits (a made-up id is no example)."""
    service = (
        Service.objects.filter(enabled=True, type=Service.Type.DEFAULT)
        .order_by("category__position", "category__name", "category_id", "position", "id")
        .first()
    )
    if service is None:
        return "service ID | link | quantity"
    quantity = min(max(1000, service.min_quantity), service.max_quantity)
    link = EXAMPLES.get(LinkRule(service.link_rule), "https://example.com/page")
    return f"{service.pk} | {link} | {quantity}"
