"""Storing cleaned screenshots (``support.images``) in the private storage."""

import uuid

from django.core.files.base import ContentFile

from support.images import CleanImage
from support.models import Attachment


def attachments_store(*, images: list[CleanImage], message=None, abuse_report=None) -> list:
    stored = []
    for image in images:
        attachment = Attachment(
            message=message,
            abuse_report=abuse_report,
            content_type=image.content_type,
            size=len(image.content),
            width=image.width,
            height=image.height,
            original_name=image.original_name,
        )
        # A random name: nothing of the customer's file name reaches the storage path.
        attachment.file.save(
            f"{uuid.uuid4().hex}.{image.extension}", ContentFile(image.content), save=False
        )
        attachment.save()
        stored.append(attachment)
    return stored
