from importlib import import_module

from django.core.management.base import BaseCommand
from django.db import transaction

# Each app that has demo data exposes ``demo.seed(stdout)``; idempotent, in this order.
SEEDERS = [
    "accounts.demo",
    "catalog.demo",
    "billing.demo",
    "orders.demo",
    "support.demo",
    "stats.demo",
]


class Command(BaseCommand):
    help = "Create demo users and data (idempotent) and print the demo logins."

    def handle(self, *args, **options):
        self.stdout.write("Demo data:")
        for module in SEEDERS:
            with transaction.atomic():
                import_module(module).seed(self.stdout)
