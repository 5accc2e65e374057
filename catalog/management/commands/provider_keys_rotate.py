from django.core.management.base import BaseCommand, CommandError

from catalog.crypto import DecryptionFailed
from catalog.services import provider_keys_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every provider API key with the first key of FIELD_ENCRYPTION_KEYS "
        "(R-PRV-5). Put the new key first, run this, then drop the old key."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--from-secret-key",
            action="store_true",
            help="Also accept the key derived from SECRET_KEY (used while no keys were set).",
        )

    def handle(self, *args, from_secret_key, **options):
        try:
            count = provider_keys_rotate(include_secret_key=from_secret_key)
        except DecryptionFailed as exc:
            raise CommandError(
                "A provider key cannot be decrypted with the configured keys; add the old key "
                "to FIELD_ENCRYPTION_KEYS (after the new one) or use --from-secret-key."
            ) from exc
        self.stdout.write(f"{count} provider keys re-encrypted with the newest key.")
