from django import forms


class AcceptForm(forms.Form):
    accept = forms.BooleanField(
        label="I have read and accept these Terms of Service",
        error_messages={"required": "Tick the box to accept the new Terms, or sign out."},
    )
