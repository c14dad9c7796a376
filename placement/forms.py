"""Forms of the parent's cabinet: add a child with the representation document, apply to a city's queue.

They only parse and check the shape of the input; the rules (who may apply, one active application per child and
city, the IIN checksum) are the services' (`accounts.services.people`, `placement.services.applications`).
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Representation
from accounts.validators import validate_iin

from .models import Application, City, GroupType

DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d.%m.%Y"]


class IinField(forms.CharField):
    """An IIN as people type it (spaces dropped), checked by the one IIN validator: its message, once (Django's
    length checks would say the same again, issue 13)."""

    default_validators = [validate_iin]

    def to_python(self, value):
        return "".join(super().to_python(value).split())


class ChildForm(forms.Form):
    iin = IinField(
        label=_("Child's IIN"),
        help_text=_("12 digits, from the birth certificate."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "maxlength": "15"}),
    )
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    first_name = forms.CharField(label=_("First name"), max_length=150)
    middle_name = forms.CharField(label=_("Patronymic"), max_length=150, required=False)
    birth_date = forms.DateField(
        label=_("Date of birth"),
        input_formats=DATE_INPUT_FORMATS,
        error_messages={"invalid": _("Enter the date of birth as a date, e.g. 01.06.2021.")},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    kind = forms.ChoiceField(
        label=_("You are the child's"),
        choices=Representation.Kind.choices,
        error_messages={"invalid_choice": _("Choose the kind of representation from the list.")},
    )
    document = forms.CharField(
        label=_("Document of the representation"),
        max_length=255,
        help_text=_("The document's name, number and date, e.g. the birth certificate."),
    )


class ApplicationForm(forms.Form):
    """The child is any id here: the view looks it up among the parent's own children, so that a forged id of
    another family's child is refused (404) rather than hidden behind "not a valid choice"."""

    child = forms.TypedChoiceField(
        label=_("Child"),
        coerce=int,
        error_messages={"invalid_choice": _("Choose one of your children.")},
    )
    city = forms.ModelChoiceField(
        label=_("City"),
        queryset=City.objects.all(),
        to_field_name="slug",
        empty_label=_("Choose a city"),
        error_messages={"invalid_choice": _("There is no such city.")},
    )
    language = forms.ChoiceField(
        label=_("Language of instruction"),
        choices=Application.Language.choices,
        error_messages={"invalid_choice": _("Choose Kazakh, Russian or either.")},
    )
    group_type = forms.ChoiceField(
        label=_("Group type"),
        choices=GroupType.choices,
        initial=GroupType.GENERAL,
        error_messages={"invalid_choice": _("Choose a group type from the list.")},
    )
    privilege = forms.ChoiceField(
        label=_("Privilege"),
        choices=Application.Privilege.choices,
        initial=Application.Privilege.NONE,
        help_text=_(
            "A privilege counts once the education department confirms its document; until then the "
            "application ranks as general."
        ),
        error_messages={"invalid_choice": _("Choose a privilege from the list.")},
    )
    privilege_document = forms.CharField(
        label=_("Privilege document"),
        max_length=255,
        required=False,
        help_text=_("Only with a privilege: the document's name, number and date."),
    )

    def __init__(self, *args, children, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["child"].choices = [("", _("Choose a child"))] + [
            (child.pk, f"{child.last_name} {child.first_name} · {child.birth_date:%d.%m.%Y}") for child in children
        ]
        # Any integer passes the field: the view decides whether the child is this parent's.
        self.fields["child"].valid_value = lambda value: str(value).isdigit()

    def clean(self):
        cleaned = super().clean()
        privilege = cleaned.get("privilege")
        if privilege and privilege != Application.Privilege.NONE and not cleaned.get("privilege_document", "").strip():
            self.add_error("privilege_document", _("Name the document that proves the privilege."))
        return cleaned


class ChoicesForm(forms.Form):
    """An application's ranked kindergartens in offer mode (issue 14): one select per rank, up to the city's
    `choices_max`, and the "any other matching place" flag. Works without JavaScript: a parent picks a
    kindergarten for each rank they want, in order; an empty rank is skipped. Whether the list is allowed (too
    many, a kindergarten without a matching group, a duplicate) is `placement.services.choices.choices_set`'s."""

    any_other = forms.BooleanField(
        label=_("Offer me any other matching place when none of my choices has one"),
        required=False,
    )

    def __init__(self, *args, kindergartens, ranks: int, **kwargs):
        super().__init__(*args, **kwargs)
        options = [("", _("No kindergarten"))] + [
            (kindergarten.pk, f"{kindergarten.name} ({kindergarten.code})") for kindergarten in kindergartens
        ]
        for rank in range(1, ranks + 1):
            self.fields[f"choice_{rank}"] = forms.TypedChoiceField(
                label=_("Choice %(rank)s") % {"rank": rank},
                choices=options,
                coerce=int,
                required=False,
                empty_value=None,
                error_messages={"invalid_choice": _("Choose a kindergarten from the list.")},
            )
        self.ranks = ranks
        # The flag after the ranks, as it reads.
        self.order_fields([f"choice_{rank}" for rank in range(1, ranks + 1)] + ["any_other"])

    def rank_fields(self):
        return [self[f"choice_{rank}"] for rank in range(1, self.ranks + 1)]

    def kindergarten_ids(self) -> list[int]:
        """The chosen kindergartens' ids in rank order, empty ranks skipped."""
        ids = (self.cleaned_data.get(f"choice_{rank}") for rank in range(1, self.ranks + 1))
        return [pk for pk in ids if pk is not None]

    @staticmethod
    def initial_for(*, choices, any_other: bool) -> dict:
        initial = {f"choice_{index}": choice.kindergarten_id for index, choice in enumerate(choices, start=1)}
        return {**initial, "any_other": any_other}
