"""Forms of the support pages: they parse; ``support.services`` decides, and its refusals
are put beside the field they concern."""

from django import forms
from django.conf import settings
from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from support.exceptions import SupportRefused
from support.models import AbuseReport, Ticket

_CONTROL = {"class": "form-control"}
_SELECT = {"class": "form-select"}
IMAGE_ACCEPT = "image/png,image/jpeg,image/gif,image/webp"


class MultipleImageInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class ScreenshotsField(forms.FileField):
    """Several files; their content is judged by ``support.images``, not here."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "widget",
            MultipleImageInput(attrs={**_CONTROL, "accept": IMAGE_ACCEPT, "multiple": True}),
        )
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data]
        return [upload for upload in files if upload]


def _screenshots_help() -> str:
    return gettext("PNG, JPEG, GIF or WebP, up to %(count)s files of %(size)s MB each.") % {
        "count": settings.SUPPORT_ATTACHMENT_MAX_COUNT,
        "size": settings.SUPPORT_ATTACHMENT_MAX_BYTES // (1024 * 1024),
    }


class RefusalFormMixin:
    def add_refusal(self, refusal: SupportRefused) -> None:
        field = refusal.field if refusal.field in self.fields else None
        self.add_error(field, refusal.message)


class TicketForm(RefusalFormMixin, forms.Form):
    kind = forms.ChoiceField(
        label=_("Subject type"), choices=Ticket.Kind.choices, widget=forms.Select(attrs=_SELECT)
    )
    subject = forms.CharField(max_length=150, widget=forms.TextInput(attrs=_CONTROL))
    order_ids = forms.CharField(
        label=_("Order ids"),
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={**_CONTROL, "placeholder": _("e.g. 1234, 1235")}),
        help_text=_("Optional: the orders this is about, separated by commas."),
    )
    problem = forms.ChoiceField(
        label=_("Problem with the order"),
        required=False,
        choices=Ticket.Problem.choices,
        widget=forms.Select(attrs=_SELECT),
    )
    body = forms.CharField(
        label=_("Message"), max_length=10000, widget=forms.Textarea(attrs={**_CONTROL, "rows": 6})
    )
    screenshots = ScreenshotsField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["screenshots"].help_text = _screenshots_help()
        self.fields["problem"].help_text = gettext(
            "A claim (not delivered, wrong quantity, not as described) or a refund request is "
            "accepted within the order's claim window (%(days)s days after it is Completed or "
            "Partial)."
        ) % {"days": settings.SUPPORT_CLAIM_WINDOW_DAYS}


class ReplyForm(RefusalFormMixin, forms.Form):
    body = forms.CharField(
        label=_("Your reply"),
        max_length=10000,
        widget=forms.Textarea(attrs={**_CONTROL, "rows": 4}),
    )
    screenshots = ScreenshotsField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["screenshots"].help_text = _screenshots_help()


class StaffReplyForm(ReplyForm):
    internal = forms.BooleanField(
        label=_("Internal note (never shown to the customer)"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["body"].label = "Reply"


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False,
        choices=[("active", "Not closed"), ("all", "All"), *Ticket.Status.choices],
        widget=forms.Select(attrs={**_SELECT, "class": "form-select form-select-sm"}),
    )
    kind = forms.ChoiceField(
        label=_("Type"),
        required=False,
        choices=[("", _("Any type")), *Ticket.Kind.choices],
        widget=forms.Select(attrs={**_SELECT, "class": "form-select form-select-sm"}),
    )
    assignee = forms.ChoiceField(
        required=False, widget=forms.Select(attrs={"class": "form-select form-select-sm"})
    )
    age = forms.ChoiceField(
        label=_("Waiting"),
        required=False,
        choices=[
            ("", _("Any wait")),
            ("1h", "Over 1 hour"),
            ("4h", "Over 4 hours"),
            ("24h", "Over 24 hours"),
            ("3d", "Over 3 days"),
        ],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )

    def __init__(self, *args, agents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [
            ("", _("Anyone")),
            ("me", "Me"),
            ("none", "Unassigned"),
            *((str(agent.pk), agent.username) for agent in agents),
        ]


class AssignForm(forms.Form):
    assignee = forms.ChoiceField(widget=forms.Select(attrs={"class": "form-select form-select-sm"}))

    def __init__(self, *args, agents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.agents = {str(agent.pk): agent for agent in agents}
        self.fields["assignee"].choices = [
            ("", _("Nobody")),
            *((key, agent.username) for key, agent in self.agents.items()),
        ]


# --- the abuse form (R-SUP-4): honeypot + signed timestamp, no third-party captcha ----------
FORM_SALT = "support.abuse.form"
SPAM = _("The form could not be accepted. Reload the page and send it again.")


def abuse_form_token() -> str:
    return signing.TimestampSigner(salt=FORM_SALT).sign(str(int(timezone.now().timestamp())))


class AbuseReportForm(RefusalFormMixin, forms.Form):
    link = forms.CharField(
        label=_("Link"), required=False, max_length=2000,
        widget=forms.TextInput(attrs={**_CONTROL, "placeholder": _("https://")}),
    )  # fmt: skip
    order_reference = forms.CharField(
        label=_("Order reference"), required=False, max_length=64,
        widget=forms.TextInput(attrs=_CONTROL),
    )  # fmt: skip
    description = forms.CharField(
        label=_("What is the violation?"),
        max_length=5000,
        widget=forms.Textarea(attrs={**_CONTROL, "rows": 5}),
    )
    email = forms.EmailField(
        label=_("Your email (optional, if we may contact you)"), required=False,
        widget=forms.EmailInput(attrs=_CONTROL),
    )  # fmt: skip
    evidence = ScreenshotsField(label=_("Evidence screenshots"))
    # Spam guards: a field people never see (bots fill it in) and when the form was shown.
    website = forms.CharField(
        required=False,
        label=_("Leave this empty"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )
    token = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["evidence"].help_text = _screenshots_help()
        if not self.is_bound:
            self.initial["token"] = abuse_form_token()

    def clean(self):
        data = super().clean()
        if data.get("website"):
            raise forms.ValidationError(SPAM, code="spam")
        try:
            shown = int(
                signing.TimestampSigner(salt=FORM_SALT).unsign(
                    data.get("token", ""), max_age=settings.SUPPORT_ABUSE_MAX_AGE_SECONDS
                )
            )
        except (signing.BadSignature, ValueError) as error:
            raise forms.ValidationError(SPAM, code="spam") from error
        age = timezone.now().timestamp() - shown
        if age > settings.SUPPORT_ABUSE_MAX_AGE_SECONDS:
            raise forms.ValidationError(SPAM, code="spam")
        if age < settings.SUPPORT_ABUSE_MIN_SECONDS:
            raise forms.ValidationError(
                _("That was quick: check the report, then send it again."), code="too_fast"
            )
        return data


class AbuseStatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=AbuseReport.Status.choices, widget=forms.Select(attrs={"class": "form-select"})
    )
    note = forms.CharField(required=False, max_length=500, widget=forms.TextInput(attrs=_CONTROL))
