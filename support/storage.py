"""Where screenshots live: a private storage, never under static or media.

``STORAGES["support_private"]`` (settings): a folder under ``var/`` by default, an
S3-compatible bucket (django-storages) when the environment names one. Files are served
only by ``support.views.attachment`` after a permission check.
"""

from django.core.files.storage import Storage, storages

STORAGE_ALIAS = "support_private"


class PrivateStorage(Storage):
    """Looks up the configured storage at each call (so settings, and tests, can change it)."""

    @property
    def _target(self) -> Storage:
        return storages[STORAGE_ALIAS]

    def open(self, name, mode="rb"):
        return self._target.open(name, mode)

    def save(self, name, content, max_length=None):
        return self._target.save(name, content, max_length=max_length)

    def generate_filename(self, filename):
        return self._target.generate_filename(filename)

    def get_available_name(self, name, max_length=None):
        return self._target.get_available_name(name, max_length=max_length)

    def path(self, name):
        return self._target.path(name)

    def delete(self, name):
        return self._target.delete(name)

    def exists(self, name):
        return self._target.exists(name)

    def size(self, name):
        return self._target.size(name)

    def url(self, name):
        return self._target.url(name)

    def listdir(self, path):
        return self._target.listdir(path)


_private_storage = PrivateStorage()


def attachment_storage() -> Storage:
    return _private_storage
