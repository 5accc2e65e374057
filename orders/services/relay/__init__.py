"""The relay: orders go to providers over API v2, and their status comes back (R-ORD-4, 5, 9).

Sending (``order_relay``). After placement commits, the order goes to the first-ranked
route of its service (``catalog.selectors.provider_services_ranked``). The order is
claimed (``SELECT ... FOR UPDATE SKIP LOCKED``) and marked *sending* with a lease before
the HTTP call, so no two workers send it and a worker that dies mid-call leaves a trace.
The provider's answer, as the provider client classifies it:

* OK: the provider's order id is stored (unique per provider); polling starts.
* RETRY: the order waits ``next_attempt_at`` (exponential backoff) and is tried again, up
  to ``ORDERS_RELAY_RETRIES`` times on a route; then the next route is tried. With no
  route left the order is *failed*: staff resend or cancel it.
* FINAL: the next route is tried at once; with none left the order is canceled with a
  full return (R-ORD-9: the panel could not do it).
* AMBIGUOUS (``add`` only): the provider may have the order. It is never sent again
  blind: it waits for staff to reconcile it (``order_reconcile``) or resend it. API v2
  has no lookup by our own reference, so no automatic lookup is possible.

A service with no provider route at all is a manual service: its orders wait in the staff
queue. Due retries and lost messages are picked up by the beat task ``orders_relay_due``.

Polling (``orders_poll``, beat). Orders placed with a provider are polled when their
``poll_due_at`` comes, through multi-status, in batches of at most 100 per provider. A
batch is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` and leased (its due time moved
on) before the HTTP call, so concurrent pollers never take the same orders. Each answer
is applied to the locked order: the status mapped (R-ORD-4), the start count and remains
recorded (R-ORD-5), and Partial or Canceled returns applied exactly once (R-ORD-7, R-ORD-8).

Order life after placement: ``drip`` (drip-feed portions released one per interval, R-ORD-10),
``refill`` (``refill`` once, then ``refill_status``, R-ORD-13) and ``subscription`` (cycles
charged as they run, R-ORD-11), each on due rows claimed by a beat task with SKIP LOCKED.
"""

from orders.services.relay.cancel import order_cancel_relay
from orders.services.relay.common import relay_backoff, relay_dispatch
from orders.services.relay.drip import (
    dripfeed_can_stop,
    dripfeed_release_due,
    dripfeed_stop,
)
from orders.services.relay.poll import (
    PROVIDER_STATUSES,
    order_provider_status_apply,
    orders_poll,
)
from orders.services.relay.send import (
    HELD_NOTE,
    HELD_NOTES,
    INVESTIGATION_NOTE,
    order_add_fields,
    order_relay,
    orders_relay_due,
    orders_release_held,
)

__all__ = [
    "HELD_NOTE",
    "HELD_NOTES",
    "INVESTIGATION_NOTE",
    "PROVIDER_STATUSES",
    "dripfeed_can_stop",
    "dripfeed_release_due",
    "dripfeed_stop",
    "order_add_fields",
    "order_cancel_relay",
    "order_provider_status_apply",
    "order_relay",
    "orders_poll",
    "orders_relay_due",
    "orders_release_held",
    "relay_backoff",
    "relay_dispatch",
]
