import sys

from django.core.management.base import BaseCommand, CommandError

from catalog.models import Provider
from catalog.services import provider_create


class Command(BaseCommand):
    help = "Add a provider: NAME URL KEY (KEY '-' reads it from standard input, out of ps)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("url", help="The provider's API v2 endpoint, e.g. https://x/api/v2")
        parser.add_argument("key", help="Its API key, or '-' to read it from standard input.")

    def handle(self, *args, name, url, key, **options):
        if key == "-":
            key = sys.stdin.readline().strip()
        if not key:
            raise CommandError("The API key is empty.")
        if not url.startswith(("http://", "https://")):
            raise CommandError("The URL must start with http:// or https://.")
        if Provider.objects.filter(name=name).exists():
            raise CommandError(f"A provider named {name!r} exists already.")
        provider = provider_create(name=name, api_url=url, api_key=key)
        self.stdout.write(f"Provider {provider.name} added (#{provider.pk}); its key is encrypted.")
