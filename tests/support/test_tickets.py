"""Tickets: subject types, order ids, screenshots, replies and notices (R-SUP-1..3)."""

import io

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.models import Notice
from support.exceptions import ImageRefused, OrderIdsRefused, SupportRefused
from support.models import Attachment, Ticket, TicketEvent
from support.selectors import staff_agents
from support.services import (
    ticket_assign,
    ticket_close,
    ticket_open,
    ticket_reply_customer,
    ticket_reply_staff,
)
from support.services.tickets import order_ids_parse
from tests.factories import StaffFactory, UserFactory
from tests.orders.factories import OrderFactory
from tests.support import helpers

pytestmark = pytest.mark.django_db


def _open(user, **fields):
    defaults = {"kind": Ticket.Kind.OTHER, "subject": "Help", "body": "Please help."}
    return ticket_open(user=user, **{**defaults, **fields})


def test_a_ticket_has_a_subject_type_orders_and_screenshots(customer):  # R-SUP-1
    order = OrderFactory(user=customer)
    ticket = _open(
        customer,
        kind=Ticket.Kind.ORDER,
        order_ids=[order.pk],
        uploads=[helpers.png(), helpers.jpeg_with_exif()],
    )
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.awaiting_since is not None
    assert list(ticket.order_links.values_list("order_id", flat=True)) == [order.pk]
    assert ticket.messages.get().attachments.count() == 2
    assert TicketEvent.objects.get(ticket=ticket).new_status == Ticket.Status.OPEN
    assert {kind for kind, _ in Ticket.Kind.choices} == {
        "order", "payment", "refill", "cancel", "api", "other"
    }  # fmt: skip


def test_someone_elses_and_unknown_order_ids_get_the_same_message(customer):  # R-SUP-1
    theirs = OrderFactory(user=UserFactory())
    unknown = theirs.pk + 1000
    with pytest.raises(OrderIdsRefused) as foreign:
        _open(customer, order_ids=[theirs.pk])
    with pytest.raises(OrderIdsRefused) as missing:
        _open(customer, order_ids=[unknown])
    # The same wording either way: nothing tells that the other customer's order exists.
    assert foreign.value.message == missing.value.message.replace(str(unknown), str(theirs.pk))
    assert "Not among your orders" in foreign.value.message
    assert not Ticket.objects.exists()


def test_order_ids_are_parsed_or_refused_clearly():  # R-SUP-1
    assert order_ids_parse("12, #13 14;12") == [12, 13, 14]
    with pytest.raises(OrderIdsRefused, match="is not an order id"):
        order_ids_parse("12, abc")


def test_screenshots_are_reencoded_without_metadata(customer, private_storage):  # R-SUP-1
    ticket = _open(customer, uploads=[helpers.jpeg_with_exif()])
    attachment = Attachment.objects.get(message__ticket=ticket)
    assert attachment.content_type == "image/jpeg"
    stored = attachment.file.open("rb").read()
    assert b"SecretCam" not in stored
    assert b"private comment" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert not image.getexif()
        assert image.size == (64, 48)
    # Outside static and media: in the private storage only.
    assert str(private_storage) in attachment.file.path
    assert attachment.file.name.endswith(".jpg")
    assert "photo" not in attachment.file.name


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (helpers.php_as_png, "“shell.png” is not a PNG, JPEG, GIF or WebP image"),
        (helpers.svg_with_script, "“diagram.svg” is not a PNG, JPEG, GIF or WebP image"),
        (helpers.bomb_png, "“bomb.png” is too large in pixels"),
    ],
)
def test_only_real_images_are_accepted(customer, upload, message):  # R-SUP-1
    with pytest.raises(ImageRefused, match=message):
        _open(customer, uploads=[upload()])
    assert not Ticket.objects.exists()
    assert not Attachment.objects.exists()


def test_oversized_screenshots_are_refused(customer, settings):  # R-SUP-1
    settings.SUPPORT_ATTACHMENT_MAX_BYTES = 200 * 1024
    with pytest.raises(ImageRefused, match=r"“big.png” is .*at most 200.0 KB"):
        _open(customer, uploads=[helpers.oversized_png(220 * 1024)])


def test_too_many_screenshots_are_refused(customer, settings):  # R-SUP-1
    settings.SUPPORT_ATTACHMENT_MAX_COUNT = 2
    with pytest.raises(ImageRefused, match="at most 2 screenshots"):
        _open(customer, uploads=[helpers.png(), helpers.png(), helpers.png()])


def test_the_decompression_bomb_guard_is_a_setting(customer, settings):  # R-SUP-1
    settings.SUPPORT_IMAGE_MAX_PIXELS = 1000
    with pytest.raises(ImageRefused, match="too large in pixels"):
        _open(customer, uploads=[helpers.png(size=(40, 30))])
    settings.SUPPORT_IMAGE_MAX_PIXELS = 1200
    assert _open(customer, uploads=[helpers.png(size=(40, 30))])


def test_statuses_move_by_the_transitions_with_history(customer):  # R-SUP-2
    agent = StaffFactory()
    ticket = _open(customer)
    ticket_reply_staff(ticket_id=ticket.pk, actor=agent, body="Looking into it.")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.ANSWERED
    assert ticket.assignee == agent
    assert ticket.awaiting_since is None
    ticket_reply_customer(user=customer, ticket_id=ticket.pk, body="Thanks, still broken.")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CUSTOMER_REPLY
    assert ticket.awaiting_since is not None
    ticket_close(ticket_id=ticket.pk, actor=agent)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    # Replying reopens it.
    ticket_reply_customer(user=customer, ticket_id=ticket.pk, body="It broke again.")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CUSTOMER_REPLY
    moves = list(ticket.events.values_list("old_status", "new_status"))
    assert moves == [
        ("", "open"),
        ("open", "answered"),
        ("answered", "customer_reply"),
        ("customer_reply", "closed"),
        ("closed", "customer_reply"),
    ]


def test_customers_cannot_write_in_someone_elses_ticket(customer):  # R-SUP-1
    ticket = _open(UserFactory())
    with pytest.raises(Ticket.DoesNotExist):
        ticket_reply_customer(user=customer, ticket_id=ticket.pk, body="Hi")


def test_staff_reply_notifies_the_customer_once_after_commit(
    customer, django_capture_on_commit_callbacks
):  # R-SUP-2
    agent = StaffFactory()
    ticket = _open(customer)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ticket_reply_staff(ticket_id=ticket.pk, actor=agent, body="Refilled, please check.")
        assert mail.outbox == []  # nothing is mailed inside the request's transaction
    assert len(callbacks) == 1
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [customer.email]
    assert "Refilled, please check." in mail.outbox[0].body
    assert f"/tickets/{ticket.pk}/" in mail.outbox[0].body
    notice = Notice.objects.get(user=customer)
    assert notice.kind == "ticket_reply"
    assert notice.emailed_at is not None
    # The task running again (a redelivery) sends nothing more.
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == 1


def test_internal_notes_tell_the_customer_nothing(
    customer, django_capture_on_commit_callbacks
):  # R-SUP-2
    agent = StaffFactory()
    ticket = _open(customer)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply_staff(ticket_id=ticket.pk, actor=agent, body="VIP, be nice", internal=True)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert mail.outbox == []
    assert not Notice.objects.exists()


def test_assignment_is_to_staff_and_recorded(customer):  # R-SUP-2
    agent = StaffFactory()
    ticket = _open(customer)
    ticket_assign(ticket_id=ticket.pk, assignee=agent, actor=agent)
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    assert ticket.events.last().note == f"Assigned to {agent.username}."
    with pytest.raises(SupportRefused, match="desk staff only"):
        ticket_assign(ticket_id=ticket.pk, assignee=customer, actor=agent)
    finance = helpers.staff_with_role("Finance")
    with pytest.raises(SupportRefused, match="desk staff only"):
        ticket_assign(ticket_id=ticket.pk, assignee=finance, actor=agent)
    assert finance not in staff_agents()
    assert agent in staff_agents()
    assert helpers.staff_with_role("Support") in staff_agents()


@pytest.mark.parametrize(
    ("kind", "content_type"),
    [("GIF", "image/png"), ("WEBP", "image/png"), ("PNG", "image/png"), ("JPEG", "image/jpeg")],
)
def test_png_jpeg_gif_and_webp_are_accepted(customer, kind, content_type):  # R-SUP-1
    buffer = io.BytesIO()
    Image.new("RGB", (20, 10), (1, 2, 3)).save(buffer, format=kind)
    upload = SimpleUploadedFile(f"shot.{kind.lower()}", buffer.getvalue(), content_type="x/y")
    ticket = _open(customer, uploads=[upload])
    attachment = Attachment.objects.get(message__ticket=ticket)
    assert (attachment.content_type, attachment.width, attachment.height) == (content_type, 20, 10)


def test_png_text_chunks_are_stripped(customer):  # R-SUP-1
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Author", "secret-author-name")
    ticket = _open(customer, uploads=[helpers.png(pnginfo=info)])
    stored = Attachment.objects.get(message__ticket=ticket).file.open("rb").read()
    assert b"secret-author-name" not in stored
