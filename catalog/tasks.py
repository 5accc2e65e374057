from celery import shared_task

from .models import Provider
from .services import provider_balance_refresh


@shared_task(name="catalog.provider_balances_poll")
def provider_balances_poll() -> None:
    """Beat (``PROVIDER_BALANCE_POLL_MINUTES``): each active provider's balance, alert when low."""
    for provider_id in Provider.objects.filter(status=Provider.Status.ACTIVE).values_list(
        "pk", flat=True
    ):
        provider_balance_refresh_task.delay(provider_id)


@shared_task(name="catalog.provider_balance_refresh")
def provider_balance_refresh_task(provider_id: int) -> None:
    provider = Provider.objects.filter(pk=provider_id).first()
    if provider is not None:
        provider_balance_refresh(provider=provider)
