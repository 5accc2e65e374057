from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.services import api_key_issue


class Command(BaseCommand):
    help = "Issue a new API key for a user (revoking the old one) and print it once."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No user named {username!r}.") from exc
        _, plaintext = api_key_issue(user=user)
        self.stdout.write(plaintext)
