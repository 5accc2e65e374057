"""Celery tasks of the orders app: thin, named, take ids, safe to run twice."""

from celery import shared_task

from orders.services import relay


@shared_task(name="orders.relay")
def order_relay_task(order_id: int) -> None:
    """Send one order to its provider (after placement, a retry, a failover, a resend)."""
    relay.order_relay(order_id=order_id)


@shared_task(name="orders.relay_due")
def orders_relay_due_task() -> None:
    """Beat (``ORDERS_RELAY_DUE_SECONDS``): due retries, lost messages, stuck sends."""
    relay.orders_relay_due()


@shared_task(name="orders.poll")
def orders_poll_task() -> None:
    """Beat (``ORDERS_POLL_SECONDS``): the status of active orders, 100 per provider call."""
    relay.orders_poll()


@shared_task(name="orders.cancel_relay")
def order_cancel_relay_task(order_id: int) -> None:
    """Ask the provider to cancel an order."""
    relay.order_cancel_relay(order_id=order_id)


@shared_task(name="orders.relay_batch")
def orders_relay_batch_task(order_ids: list[int]) -> None:
    """A Mass Order's orders: one message from the web request, one relay task per order."""
    for order_id in order_ids:
        order_relay_task.delay(order_id)


@shared_task(name="orders.reconcile_alert")
def orders_reconcile_alert_task() -> None:
    """Beat (``ORDERS_RECONCILE_ALERT_CHECK_SECONDS``): tell staff, once per order, about
    ambiguous sends waiting longer than ``ORDERS_RECONCILE_ALERT_MINUTES``."""
    from orders.services.reconcile import orders_reconcile_alert

    orders_reconcile_alert()


@shared_task(name="orders.dripfeed_due")
def orders_dripfeed_due_task() -> None:
    """Beat (``ORDERS_DUE_SECONDS``): release due drip-feed portions to the relay (R-ORD-10)."""
    relay.dripfeed_release_due()


@shared_task(name="orders.refill_send")
def refill_send_task(refill_id: int) -> None:
    """Send one refill request to the order's provider (R-ORD-13)."""
    from orders.services.relay.refill import refill_send

    refill_send(refill_id=refill_id)


@shared_task(name="orders.refill_send_batch")
def refill_send_batch_task(refill_ids: list[int]) -> None:
    """A beat's due refills: one message from the beat, one send task per refill."""
    for refill_id in refill_ids:
        refill_send_task.delay(refill_id)


@shared_task(name="orders.refills_due")
def refills_due_task() -> None:
    """Beat (``ORDERS_DUE_SECONDS``): due refill sends and ``refill_status`` polls."""
    from orders.services.relay.refill import refills_due

    refills_due()


@shared_task(name="orders.subscriptions_due")
def subscriptions_due_task() -> None:
    """Beat (``ORDERS_DUE_SECONDS``): run the due subscription cycles (R-ORD-11)."""
    from orders.services.relay.subscription import subscriptions_due

    subscriptions_due()
