"""Files for the screenshot tests, and helpers other support tests share."""

import io
import os

from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from orders.models import Order
from orders.services.lifecycle import order_transition, orders_locking
from tests.factories import StaffFactory

TOTP_SECRET = "JBSWY3DPEHPK3PXP"


def png(name="shot.png", size=(40, 30), color=(200, 30, 30), **save) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG", **save)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def jpeg_with_exif(name="photo.jpg") -> SimpleUploadedFile:
    image = Image.new("RGB", (64, 48), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0131] = "GPS-leaking-software"  # Software
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes(), comment=b"private comment")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def php_as_png() -> SimpleUploadedFile:
    return SimpleUploadedFile(
        "shell.png", b"<?php system($_GET['cmd']); ?>\n", content_type="image/png"
    )


def svg_with_script() -> SimpleUploadedFile:
    body = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
    )
    return SimpleUploadedFile("diagram.svg", body, content_type="image/svg+xml")


def oversized_png(min_bytes: int) -> SimpleUploadedFile:
    """A real PNG of noise (does not compress) larger than ``min_bytes``."""
    side = int((min_bytes / 3) ** 0.5) + 64
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return SimpleUploadedFile("big.png", buffer.getvalue(), content_type="image/png")


def bomb_png(side=6000) -> SimpleUploadedFile:
    """A few kilobytes that decode to ``side`` x ``side`` pixels (36 million by default)."""
    buffer = io.BytesIO()
    Image.new("1", (side, side), 0).save(buffer, format="PNG", optimize=True)
    return SimpleUploadedFile("bomb.png", buffer.getvalue(), content_type="image/png")


def finish(order: Order, status=Order.Status.COMPLETED) -> Order:
    """Move a bare order row (no ledger) to Completed or Partial through ``order_transition``,
    where the orders lifecycle opens the claim window."""
    from django.db import transaction

    with transaction.atomic():
        locked = orders_locking().get(pk=order.pk)
        locked.remains = 0 if status == Order.Status.COMPLETED else order.quantity // 2
        order_transition(order=locked, new=status, cause="provider")
    order.refresh_from_db()
    return order


def staff_with_role(role: str, *, totp: bool = True, **fields):
    user = StaffFactory(is_superuser=False, **fields)
    user.groups.add(Group.objects.get(name=role))
    if totp:
        TOTP.activate(user, TOTP_SECRET)
    return user
