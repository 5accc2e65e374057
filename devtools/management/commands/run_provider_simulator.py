from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand

from devtools.dialects import DIALECTS
from devtools.simulator import ProviderSimulator, demo_catalog, generated_catalog


class Command(BaseCommand):
    help = "Run the API v2 provider simulator (devtools/simulator.py) until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=settings.SIMULATOR_PORT)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--key", default=settings.SIMULATOR_API_KEY, help="Its API key.")
        parser.add_argument(
            "--step-seconds",
            type=float,
            default=settings.SIMULATOR_STEP_SECONDS,
            help="Seconds per order step (Pending, In progress, final); 0: final at once.",
        )
        parser.add_argument("--balance", default="1000.00", help="Starting balance in USD.")
        parser.add_argument(
            "--services", type=int, default=0, help="Serve N generated services, not the demo set."
        )
        parser.add_argument(
            "--dialect",
            choices=sorted(DIALECTS),
            default="standard",
            help="How answers are written (devtools/dialects.py).",
        )

    def handle(self, *args, **options):
        services = generated_catalog(options["services"]) if options["services"] else demo_catalog()
        simulator = ProviderSimulator(
            api_key=options["key"],
            services=services,
            step_seconds=options["step_seconds"],
            balance=Decimal(options["balance"]),
            dialect=options["dialect"],
        )
        self.stdout.write(
            f"Provider simulator on http://{options['host']}:{options['port']}/api/v2 "
            f"({len(services)} services, {options['step_seconds']:g} s per step, "
            f"{options['dialect']} dialect); "
            f"control at /control."
        )
        try:
            simulator.serve_forever(options["host"], options["port"])
        except KeyboardInterrupt:
            self.stdout.write("Simulator stopped.")
