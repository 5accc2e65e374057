"""Demo catalog: a provider pointing at the simulator of ``make run``, imported through the sync.

The simulator process may not be running yet (``make run`` seeds before it starts the
processes), so the import runs against an in-process simulator on a free port serving the
same catalog, through the same client and sync code.
"""

from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model

from devtools.simulator import ProviderSimulator, demo_catalog

from .models import Provider
from .provider_client import ProviderClient
from .services import custom_rate_set, provider_balance_refresh, provider_create
from .sync import UPDATE_CHOICES, provider_sync

PROVIDER_NAME = "Simulator"
DEMO_MARKUP = Decimal("40")


def seed(stdout) -> None:
    provider = Provider.objects.filter(name=PROVIDER_NAME).first()
    if provider is None:
        provider = provider_create(
            name=PROVIDER_NAME,
            api_url=f"http://127.0.0.1:{settings.SIMULATOR_PORT}/api/v2",
            api_key=settings.SIMULATOR_API_KEY,
        )
    simulator = ProviderSimulator(api_key=provider.api_key, services=demo_catalog())
    with simulator:
        client = ProviderClient(provider, url=simulator.url, timeout=30)
        report = provider_sync(
            provider=provider,
            client=client,
            markup_percent=None if provider.mappings.exists() else DEMO_MARKUP,
            update=list(UPDATE_CHOICES),
        )
        # Its balance now: the beat's first poll comes one interval after `make run` starts,
        # and the admin would read "not fetched yet" until then (issue 14).
        balance = provider_balance_refresh(provider=provider, client=client)
    customer = get_user_model().objects.filter(username="demo").first()
    if customer is not None:
        custom_rate_set(user=customer, discount_percent=Decimal("10"), note="Demo: reseller -10 %")
    stdout.write(f"  catalog: provider {PROVIDER_NAME} at {provider.api_url}. {report.summary()}")
    if not balance.ok:
        stdout.write(f"  catalog: the provider's balance was not fetched: {balance.error}")
    if customer is not None:
        stdout.write("  catalog: customer 'demo' has a 10 % discount on every service (R-CAT-6).")
