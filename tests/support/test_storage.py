"""Screenshots' private storage: a folder under var/ by default, S3 when configured."""

import json
import os
import subprocess
import sys

from django.conf import settings

SCRIPT = """
import json, django
django.setup()
from support.storage import attachment_storage
from django.core.files.storage import storages
target = storages["support_private"]
print(json.dumps({
    "class": type(target).__module__ + "." + type(target).__name__,
    "bucket": getattr(target, "bucket_name", None),
    "acl": getattr(target, "default_acl", None),
    "signed": getattr(target, "querystring_auth", None),
    "location": str(getattr(target, "location", "")),
    "media_root": str(django.conf.settings.MEDIA_ROOT),
    "static_root": str(django.conf.settings.STATIC_ROOT),
}))
"""


def _storage_with(env: dict) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORT_S3_")}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env={**clean, "DJANGO_SETTINGS_MODULE": "smmpanel.settings", **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_default_storage_is_private_under_var(tmp_path):  # R-SUP-1
    found = _storage_with({"VAR_DIR": str(tmp_path)})
    assert found["class"] == "django.core.files.storage.filesystem.FileSystemStorage"
    assert found["location"] == str(tmp_path / "private")
    assert not found["location"].startswith(found["media_root"])
    assert not found["location"].startswith(found["static_root"])


def test_an_s3_compatible_bucket_when_the_environment_names_one(tmp_path):  # R-SUP-1
    found = _storage_with(
        {
            "VAR_DIR": str(tmp_path),
            "SUPPORT_S3_BUCKET": "panel-screenshots",
            "SUPPORT_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
            "SUPPORT_S3_ACCESS_KEY": "minio",
            "SUPPORT_S3_SECRET_KEY": "minio-secret",
        }
    )
    assert found["class"] == "storages.backends.s3.S3Storage"
    assert found["bucket"] == "panel-screenshots"
    assert found["acl"] == "private"
    assert found["signed"] is True
