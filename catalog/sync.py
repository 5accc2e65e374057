"""Import and re-sync a provider's catalog (its ``services`` action) with a markup (R-CAT-3).

``provider_sync`` imports the provider's services that we do not route to yet (new services
priced at the provider's rate plus the markup) and updates the ones we do, field groups as
chosen (``UPDATE_CHOICES``). It reads and writes in bulk, so a thousand services take a few
queries, and it only writes what differs: a second run changes nothing.

Whatever is chosen, a provider price rising above our price never leaves the service selling
at a loss: per ``CATALOG_PRICE_RISE_POLICY`` the service is repriced (the provider's price
plus the route's markup) or disabled until staff look, and staff are told. A fallback route
(not the service's first) that becomes dearer than our price is left to the relay, which
skips routes above the price (``selectors.provider_services_ranked``); staff are told too.
"""

import copy
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.money import quantize
from smmpanel.readcache import stamp_bump

from .exceptions import InvalidCatalogChange, ProviderUnavailable
from .links import LinkRule
from .models import Category, Provider, ProviderService, Service, ServiceUpdate, StaffNotice
from .provider_client import ProviderClient
from .selectors import SERVICES_STAMP
from .services import service_changes, staff_notify

UPDATE_CHOICES = {
    "price": "Price (provider's price plus markup)",
    "name": "Name",
    "description": "Description",
    "limits": "Min and max",
    "flags": "Refill, cancel and drip-feed",
    "status": "Status (disable what the provider dropped, re-enable what is back)",
}
DEFAULT_UPDATES = frozenset({"price", "limits", "flags", "status"})
SERVICE_FIELDS = [
    "name", "description", "rate", "min_quantity", "max_quantity", "refill", "refill_days",
    "cancel", "dripfeed", "enabled", "disabled_reason", "updated_at",
]  # fmt: skip
ROUTE_FIELDS = ["provider_rate", "markup_percent", "remote_name", "available"]

_PLATFORM_WORDS = [
    (Category.Platform.INSTAGRAM, LinkRule.INSTAGRAM, ("instagram", "insta ", "ig ")),
    (Category.Platform.TIKTOK, LinkRule.TIKTOK, ("tiktok", "tik tok")),
    (Category.Platform.YOUTUBE, LinkRule.YOUTUBE, ("youtube", "yt ")),
    (Category.Platform.TELEGRAM, LinkRule.TELEGRAM, ("telegram",)),
    (Category.Platform.X, LinkRule.X, ("twitter", "x (twitter)", "x followers", "x likes")),
    (Category.Platform.FACEBOOK, LinkRule.FACEBOOK, ("facebook", "fb ")),
    (Category.Platform.SPOTIFY, LinkRule.URL, ("spotify",)),
]
_REFILL_DAYS = [
    re.compile(r"refill\D{0,12}?(\d{1,3})\s*-?\s*(?:d\b|days?)", re.IGNORECASE),
    re.compile(r"(\d{1,3})\s*-?\s*(?:d|days?)\s+refill", re.IGNORECASE),
    re.compile(r"\bR(\d{1,3})\b"),
]
_TYPES = {t.value.lower(): t.value for t in Service.Type}
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class RemoteService:
    id: str
    name: str
    type: str
    category: str
    rate: Decimal
    min: int
    max: int
    refill: bool
    cancel: bool
    dripfeed: bool
    description: str
    average_minutes: int | None


@dataclass(frozen=True)
class Change:
    service_id: int
    service: str
    what: str
    old: str
    new: str

    def __str__(self) -> str:
        return f"#{self.service_id} {self.service}: {self.what} {self.old} → {self.new}"


@dataclass
class SyncReport:
    """What a sync did; ``changed`` is False when it wrote nothing to the catalog."""

    provider: str
    fetched: int = 0
    created: list[Change] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    price_rises: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.changes)

    def summary(self) -> str:
        services_changed = len({c.service_id for c in self.changes})
        return (
            f"{self.provider}: {self.fetched} services listed, {len(self.created)} imported, "
            f"{services_changed} updated ({len(self.changes)} changes), "
            f"{self.unchanged} unchanged, {len(self.skipped)} skipped, "
            f"{len(self.price_rises)} price rises above our price."
        )

    def lines(self) -> list[str]:
        lines = [self.summary()]
        lines += [f"imported {c}" for c in self.created]
        lines += [f"changed  {c}" for c in self.changes]
        lines += [f"ALERT    {text}" for text in self.price_rises]
        lines += [f"skipped  remote #{remote_id}: {reason}" for remote_id, reason in self.skipped]
        return lines


def _flag(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def _count(value) -> int:
    number = Decimal(str(value).strip())
    if number != number.to_integral_value() or number < 0:
        raise ValueError("not a whole number")
    return int(number)


def parse_remote_services(items: Iterable[dict]) -> tuple[list[RemoteService], list]:
    """The provider's list as ``RemoteService``s, and ``(remote id, reason)`` for the rest."""
    parsed, skipped = [], []
    for item in items:
        remote_id = str(item.get("service", "")).strip()
        try:
            kind = _TYPES.get(str(item.get("type") or "Default").strip().lower())
            if kind is None:
                raise ValueError(f"type {item.get('type')!r} is not supported")
            rate = Decimal(str(item["rate"]).strip())
            if not rate.is_finite() or rate < 0:
                raise ValueError("the rate is not a price")
            low, high = _count(item["min"]), _count(item["max"])
            if low < 1 or high < low:
                raise ValueError("min and max do not make sense")
            average = item.get("average_time")
            average = _count(average) if str(average or "").strip().isdigit() else None
            parsed.append(
                RemoteService(
                    id=remote_id,
                    name=str(item.get("name") or f"Service {remote_id}").strip()[:255],
                    type=kind,
                    category=str(item.get("category") or "Other").strip()[:200] or "Other",
                    rate=rate,
                    min=low,
                    max=high,
                    refill=_flag(item.get("refill", False)),
                    cancel=_flag(item.get("cancel", False)),
                    dripfeed=_flag(item.get("dripfeed", False)),
                    description=str(item.get("desc") or item.get("description") or "").strip(),
                    average_minutes=average,
                )
            )
        except (KeyError, ValueError, InvalidOperation) as exc:
            skipped.append((remote_id or "?", str(exc) or "incomplete"))
    return parsed, skipped


def guess_platform(text: str) -> tuple[str, str]:
    """(Category.Platform, LinkRule) from a category or service name."""
    lowered = f" {text.lower()} "
    for platform, rule, words in _PLATFORM_WORDS:
        if any(word in lowered for word in words):
            return platform, rule
    return Category.Platform.OTHER, LinkRule.URL


def refill_days_from(text: str) -> int:
    for pattern in _REFILL_DAYS:
        found = pattern.search(text)
        if found and 0 < int(found.group(1)) <= 365:
            return int(found.group(1))
    return settings.CATALOG_DEFAULT_REFILL_DAYS


def price_with_markup(cost: Decimal, markup_percent: Decimal) -> Decimal:
    return quantize(cost * (HUNDRED + markup_percent) / HUNDRED)


class _Sync:
    """One run of ``provider_sync`` inside its transaction: load, compare, write."""

    def __init__(self, *, provider: Provider, update, markup_percent, report: SyncReport):
        self.provider = provider
        self.update = update
        self.markup_percent = markup_percent
        self.report = report
        self.now = timezone.now()
        self.policy = settings.CATALOG_PRICE_RISE_POLICY
        self.changed_services: dict[int, Service] = {}
        self.changed_routes: dict[int, ProviderService] = {}
        self.notices: list[StaffNotice] = []
        self._load()

    def _load(self) -> None:
        """This provider's routes, their services (one instance each) and every sibling route."""
        self.routes = list(
            ProviderService.objects.filter(provider=self.provider).select_related("service")
        )
        self.services = {route.service_id: route.service for route in self.routes}
        self.by_remote: dict[str, list[ProviderService]] = defaultdict(list)
        for route in self.routes:
            route.service = self.services[route.service_id]
            self.by_remote[route.remote_service_id].append(route)
        self.before = {pk: copy.copy(service) for pk, service in self.services.items()}
        self.siblings: dict[int, list[dict]] = defaultdict(list)
        for row in ProviderService.objects.filter(service_id__in=self.services).values(
            "id", "service_id", "priority", "enabled", "available"
        ):
            self.siblings[row["service_id"]].append(row)
        # A service's first route (lowest priority among enabled ones) sets its price and fields.
        self.primary = {
            service_id: min((r["priority"], r["id"]) for r in rows if r["enabled"])[1]
            for service_id, rows in self.siblings.items()
            if any(r["enabled"] for r in rows)
        }

    def compare(self, remote: list[RemoteService], *, wanted, import_new, say) -> list:
        """Update the routes and services we have; return the remote services to import."""
        to_import = []
        for done, item in enumerate(remote, start=1):
            if wanted is not None and item.id not in wanted:
                continue
            if item.id in self.by_remote:
                for route in self.by_remote[item.id]:
                    self.sync_route(route, item)
            elif import_new:
                to_import.append(item)
            if done % 250 == 0:
                say(f"  compared {done}/{len(remote)}")
        return to_import

    def mark_gone(self, listed_ids: set[str]) -> None:
        """Routes to services the provider no longer lists (a full sync only)."""
        for route in self.routes:
            if route.remote_service_id in listed_ids or not route.available:
                continue
            others = any(
                r["id"] != route.pk and r["enabled"] and r["available"]
                for r in self.siblings[route.service_id]
            )
            self._route_gone(route, other_routes_left=others)

    def save(self) -> None:
        changed = list(self.changed_services.values())
        Service.objects.bulk_update(changed, SERVICE_FIELDS, batch_size=500)
        if changed:
            stamp_bump(SERVICES_STAMP)  # repriced or disabled: in force for the next order
        ProviderService.objects.bulk_update(
            self.changed_routes.values(), ROUTE_FIELDS, batch_size=500
        )
        updates = [u for s in changed for u in service_changes(old=self.before[s.pk], new=s)]
        ServiceUpdate.objects.bulk_create(updates, batch_size=500)
        self.report.unchanged = len(self.services) - len(changed)
        self.provider.last_synced_at = self.now
        self.provider.last_error = ""
        self.provider.save(update_fields=["last_synced_at", "last_error"])
        staff_notify(
            notices=self.notices, subject=f"Catalog sync of {self.provider.name}: action taken"
        )

    # --- one route ------------------------------------------------------------------------
    def sync_route(self, route: ProviderService, remote: RemoteService) -> None:
        service = route.service
        cost_changed = route.provider_rate != remote.rate
        if cost_changed:
            self.report.changes.append(
                Change(
                    service.pk, service.name, "provider price", str(route.provider_rate),
                    str(remote.rate),
                )
            )  # fmt: skip
        if self.markup_percent is not None:
            self._set_route(route, "markup_percent", self.markup_percent)
        self._set_route(route, "provider_rate", remote.rate)
        self._set_route(route, "remote_name", remote.name)
        if not route.available:
            self._set_route(route, "available", True)
            if "status" in self.update:
                self._enable_if(service, Service.DisabledReason.PROVIDER_MISSING)
        if not route.enabled:
            return
        if self.primary.get(service.pk) != route.pk:
            if cost_changed and remote.rate > service.rate:
                self._price_rise(
                    service,
                    f"the fallback route of {self.provider.name} now costs {remote.rate}, above "
                    f"our price {service.rate}: the relay skips it",
                )
            return
        self._follow_price(service, route, remote, cost_changed=cost_changed)
        self._follow_fields(service, remote)

    def _follow_price(self, service, route, remote: RemoteService, *, cost_changed: bool) -> None:
        if remote.rate > service.rate:
            # R-CAT-3: a provider price above ours never stays: reprice or disable, tell staff.
            if not (cost_changed or service.enabled):
                return  # already dealt with by an earlier sync
            our_price = service.rate
            if self.policy == "reprice":
                target = price_with_markup(remote.rate, route.markup_percent)
                self._set(service, "rate", target, "price")
                action = f"repriced to {target}"
            else:
                action = "disabled" if service.enabled else "it stays disabled"
                self._disable(service, Service.DisabledReason.BELOW_COST)
            self._price_rise(
                service,
                f"{self.provider.name} now charges {remote.rate} per 1,000, above our price "
                f"{our_price}: {action}",
            )
        elif service.disabled_reason == Service.DisabledReason.BELOW_COST:
            if "status" in self.update:  # back at or below our price: sell again
                self._enable_if(service, Service.DisabledReason.BELOW_COST)
        elif "price" in self.update:
            target = price_with_markup(remote.rate, route.markup_percent)
            self._set(service, "rate", target, "price")

    def _follow_fields(self, service: Service, remote: RemoteService) -> None:
        if "name" in self.update:
            self._set(service, "name", remote.name, "name")
        if "description" in self.update:
            self._set(service, "description", remote.description, "description")
        if "limits" in self.update:
            self._set(service, "min_quantity", remote.min, "min")
            self._set(service, "max_quantity", remote.max, "max")
        if "flags" in self.update:
            refill = remote.refill and not service.beta  # R-CAT-5: beta carries no refill
            self._set(service, "refill", refill, "refill")
            if refill and not service.refill_days:
                self._set(service, "refill_days", refill_days_from(remote.name), "refill days")
            self._set(service, "cancel", remote.cancel, "cancel")
            self._set(service, "dripfeed", remote.dripfeed, "drip-feed")

    def _route_gone(self, route: ProviderService, *, other_routes_left: bool) -> None:
        self._set_route(route, "available", False)
        service = route.service
        if "status" in self.update and not other_routes_left and service.enabled:
            self._disable(service, Service.DisabledReason.PROVIDER_MISSING)
            self._notice(
                StaffNotice.Kind.SERVICE_GONE,
                service,
                f"Service #{service.pk} {service.name}: {self.provider.name} no longer lists "
                f"service {route.remote_service_id}; disabled.",
            )

    # --- helpers --------------------------------------------------------------------------
    def _set(self, service: Service, attr: str, value, what: str) -> None:
        old = getattr(service, attr)
        if old == value:
            return
        setattr(service, attr, value)
        self.report.changes.append(Change(service.pk, service.name, what, str(old), str(value)))
        service.updated_at = self.now
        self.changed_services[service.pk] = service

    def _set_route(self, route: ProviderService, attr: str, value) -> None:
        if getattr(route, attr) != value:
            setattr(route, attr, value)
            self.changed_routes[route.pk] = route

    def _disable(self, service: Service, reason: str) -> None:
        if service.enabled:
            self._set(service, "enabled", False, "enabled")
            self._set(service, "disabled_reason", reason, "disabled because")

    def _enable_if(self, service: Service, reason: str) -> None:
        if not service.enabled and service.disabled_reason == reason:
            self._set(service, "enabled", True, "enabled")
            self._set(service, "disabled_reason", "", "disabled because")

    def _price_rise(self, service: Service, text: str) -> None:
        message = f"Service #{service.pk} {service.name}: {text}."
        self.report.price_rises.append(message)
        self._notice(StaffNotice.Kind.PRICE_RISE, service, message)

    def _notice(self, kind: str, service: Service, message: str) -> None:
        self.notices.append(
            StaffNotice(kind=kind, provider=self.provider, service=service, message=message)
        )


def provider_sync(
    *,
    provider: Provider,
    remote_ids: Iterable | None = None,
    markup_percent: Decimal | None = None,
    update: Iterable[str] = DEFAULT_UPDATES,
    import_new: bool = True,
    client: ProviderClient | None = None,
    progress: Callable[[str], None] | None = None,
) -> SyncReport:
    """Import and/or update ``provider``'s services; returns what changed.

    ``remote_ids``: only these provider service ids (None: all, and routes to services the
    provider no longer lists are marked gone). ``markup_percent``: for new services and, when
    given, also set on the existing routes (None: existing keep theirs, new ones get
    ``CATALOG_DEFAULT_MARKUP_PERCENT``). ``update``: which groups of ``UPDATE_CHOICES`` follow
    the provider. Raises ``ProviderUnavailable`` when the provider's list cannot be had.
    """
    update = frozenset(update)
    if unknown := update - set(UPDATE_CHOICES):
        raise InvalidCatalogChange(f"Unknown update choice: {', '.join(sorted(unknown))}.")
    if markup_percent is not None and markup_percent < 0:
        raise InvalidCatalogChange("The markup cannot be negative.")
    say = progress or (lambda message: None)
    client = client or ProviderClient(provider)

    say(f"Fetching the service list of {provider.name}…")
    result = client.services()  # outside the transaction: no lock held during HTTP
    if not result.ok:
        Provider.objects.filter(pk=provider.pk).update(last_error=f"services: {result.error}")
        raise ProviderUnavailable(f"{provider.name}: {result.error}")
    remote, skipped = parse_remote_services(result.data)
    wanted = {str(i).strip() for i in remote_ids} if remote_ids is not None else None
    report = SyncReport(provider=provider.name, fetched=len(result.data), skipped=skipped)
    say(f"{len(result.data)} services listed; comparing with the catalog…")

    with transaction.atomic():
        provider = Provider.objects.select_for_update().get(pk=provider.pk)
        run = _Sync(provider=provider, update=update, markup_percent=markup_percent, report=report)
        to_import = run.compare(remote, wanted=wanted, import_new=import_new, say=say)
        if wanted is None:
            run.mark_gone({str(item.get("service", "")).strip() for item in result.data})
        if to_import:
            say(f"Importing {len(to_import)} new services…")
            _import(to_import, provider=provider, markup_percent=markup_percent, report=report)
        run.save()
    say(report.summary())
    return report


def _import(
    items: list[RemoteService],
    *,
    provider: Provider,
    markup_percent: Decimal | None,
    report: SyncReport,
) -> None:
    markup = settings.CATALOG_DEFAULT_MARKUP_PERCENT if markup_percent is None else markup_percent
    categories = {category.name: category for category in Category.objects.all()}
    missing = sorted({item.category for item in items} - set(categories))
    if missing:
        start = max((c.position for c in categories.values()), default=0) + 1
        created = Category.objects.bulk_create(
            [
                Category(name=name, platform=guess_platform(name)[0], position=start + n)
                for n, name in enumerate(missing)
            ]
        )
        categories.update({category.name: category for category in created})
    services = []
    for position, item in enumerate(items):
        platform_rule = guess_platform(f"{item.category} {item.name}")[1]
        refill = item.refill
        services.append(
            Service(
                category=categories[item.category],
                name=item.name,
                description=item.description,
                type=item.type,
                rate=price_with_markup(item.rate, markup),
                min_quantity=item.min,
                max_quantity=item.max,
                dripfeed=item.dripfeed,
                refill=refill,
                refill_days=refill_days_from(item.name) if refill else 0,
                cancel=item.cancel,
                guarantee="guarantee" in item.name.lower(),
                average_time_minutes=item.average_minutes,
                link_rule=(
                    LinkRule.USERNAME if item.type == Service.Type.SUBSCRIPTIONS else platform_rule
                ),
                position=position,
            )
        )
    Service.objects.bulk_create(services, batch_size=500)
    ProviderService.objects.bulk_create(
        [
            ProviderService(
                service=service,
                provider=provider,
                remote_service_id=item.id,
                remote_name=item.name,
                provider_rate=item.rate,
                markup_percent=markup,
            )
            for service, item in zip(services, items, strict=True)
        ],
        batch_size=500,
    )
    ServiceUpdate.objects.bulk_create(
        [u for service in services for u in service_changes(old=None, new=service)],
        batch_size=500,
    )
    report.created += [
        Change(service.pk, service.name, "imported at", "", str(service.rate))
        for service in services
    ]
