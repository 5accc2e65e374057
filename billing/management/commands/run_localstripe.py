"""Development only: a local Stripe (localstripe) for `make run`, with the panel's webhook.

localstripe is a stateful fake of Stripe's API and Stripe.js (a dev dependency). This
starts it on ``--port`` with its store in memory, then registers ``--webhook-url`` to
receive signed ``payment_intent.*`` events with ``STRIPE_WEBHOOK_SECRET``, so a person
trying the panel can add funds with a test card (4242 4242 4242 4242).
"""

import socket
import sys
import threading
import time

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

EVENTS = ["payment_intent.succeeded", "payment_intent.payment_failed"]


def _wait_for_port(port: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.2)
    return False


def webhook_register(*, port: int, url: str, secret: str) -> None:
    endpoint = f"http://127.0.0.1:{port}/_config/webhooks/panel"
    body = {"url": url, "secret": secret, "events": EVENTS}
    requests.post(endpoint, json=body, timeout=10).raise_for_status()


class Command(BaseCommand):
    help = "Run localstripe (development only) and send its webhooks to the panel."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8420)
        parser.add_argument("--webhook-url", required=True)

    def handle(self, *args, port, webhook_url, **options):
        if not settings.DEBUG:
            raise CommandError("localstripe is for development (DEBUG=1) only.")
        try:
            import localstripe.resources  # noqa: F401
        except ImportError as exc:
            raise CommandError("localstripe is not installed (pip install -e '.[dev]').") from exc
        from billing.localstripe_dev import localstripe_prepare

        localstripe_prepare()
        from localstripe.server import start

        def register() -> None:
            if _wait_for_port(port):
                webhook_register(port=port, url=webhook_url, secret=settings.STRIPE_WEBHOOK_SECRET)
                self.stdout.write(f"localstripe on :{port}; webhooks to {webhook_url}")

        threading.Thread(target=register, daemon=True).start()
        sys.argv = [sys.argv[0], "--port", str(port), "--from-scratch"]
        start()
