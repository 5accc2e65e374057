from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from catalog.exceptions import InvalidCatalogChange, ProviderUnavailable
from catalog.models import Provider
from catalog.sync import DEFAULT_UPDATES, UPDATE_CHOICES, provider_sync


class Command(BaseCommand):
    help = "Import a provider's services and update the imported ones (R-CAT-3)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The provider's name.")
        parser.add_argument(
            "--markup",
            help="Markup in percent for new services, and set on the imported ones too. "
            "Without it, imported services keep theirs and new ones get the default.",
        )
        parser.add_argument(
            "--update",
            default=",".join(sorted(DEFAULT_UPDATES)),
            help=f"What follows the provider, comma-separated from: {', '.join(UPDATE_CHOICES)}.",
        )
        parser.add_argument(
            "--no-import", action="store_true", help="Only update services already imported."
        )
        parser.add_argument("--services", help="Only these provider service ids, comma-separated.")
        parser.add_argument("--details", action="store_true", help="Print every change.")

    def handle(self, *args, name, markup, update, no_import, services, details, **options):
        provider = Provider.objects.filter(name=name).first()
        if provider is None:
            raise CommandError(f"No provider named {name!r}.")
        try:
            markup_percent = Decimal(markup) if markup is not None else None
        except InvalidOperation as exc:
            raise CommandError("--markup must be a number.") from exc
        remote_ids = [s for s in services.split(",") if s.strip()] if services else None
        try:
            report = provider_sync(
                provider=provider,
                remote_ids=remote_ids,
                markup_percent=markup_percent,
                update=[u.strip() for u in update.split(",") if u.strip()],
                import_new=not no_import,
                progress=self.stdout.write,
            )
        except (ProviderUnavailable, InvalidCatalogChange) as exc:
            raise CommandError(exc.message) from exc
        lines = report.lines()[1:] if details else [f"ALERT {t}" for t in report.price_rises]
        for line in lines:
            self.stdout.write(line)
