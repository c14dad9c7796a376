"""Kindergarten staff pages: their groups and live places, releasing and withdrawing places, their history,
the referrals to their kindergarten and the enrolment of the children who hold them.

DOMAIN.md, Who uses it: staff act on their own kindergarten only; department admins on the one they pick
(`?kindergarten=<id>`). The rules themselves live in `placement.services`; these views parse the form, call one
service and redirect (POST-redirect-GET).
"""

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views import View

from accounts.permissions import is_department_admin
from accounts.sms import phone_display
from indigo.http import request_ip

from ..errors import NotYourKindergarten, PlaceNotWithdrawable, ReferralNotLive, ReleaseAlreadySubmitted
from ..models import Access, Group, Kindergarten, Place, Referral
from ..models.referrals import referral_number_normalize
from ..permissions import staff_kindergarten
from ..selectors.kindergartens import (
    kindergarten_contracts,
    kindergarten_events,
    kindergarten_groups_with_counts,
    kindergarten_live_places,
    kindergarten_live_referrals,
    kindergartens_to_choose,
    release_timing,
)
from ..services.places import MAX_RELEASE, REASON_MAX_LENGTH, place_release, place_withdraw
from ..services.referrals import referral_enrol

PAGE_SIZE = 50


def group_label(group: Group) -> str:
    parts = [str(group.birth_year), group.get_language_display(), group.get_group_type_display()]
    if group.name:
        parts.insert(0, group.name)
    return " · ".join(str(part) for part in parts)


# --- Forms -----------------------------------------------------------------------------------------------


class ReleaseForm(forms.Form):
    group = forms.ModelChoiceField(label=_("Group"), queryset=Group.objects.all(), empty_label=_("Choose a group"))
    count = forms.IntegerField(
        label=_("Number of places"),
        min_value=1,
        max_value=MAX_RELEASE,
        initial=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    # A release form may be submitted once: a second POST of the same form (a double click, a resubmitted page)
    # is recognised by its token (placement.ReleaseSubmission) and changes nothing.
    token = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, kindergarten: Kindergarten, **kwargs):
        super().__init__(*args, **kwargs)
        # Any group id validates, so that one of another kindergarten is refused with 403 by the view rather than
        # hidden behind "not a valid choice"; the select offers only this kindergarten's groups.
        self.fields["group"].widget.choices = [("", self.fields["group"].empty_label)] + [
            (group.pk, group_label(group)) for group in kindergarten.groups.order_by("-birth_year", "language", "pk")
        ]
        if not self.is_bound:
            self.initial["token"] = uuid.uuid4().hex


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for withdrawal"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def withdraw_form_for(place: Place, data=None) -> WithdrawForm:
    return WithdrawForm(data, auto_id=f"id_place_{place.pk}_%s")


# --- Views -----------------------------------------------------------------------------------------------


class StaffView(View):
    """Login, then the kindergarten the user acts on; a 403 page (never 404 or 500) for anyone else."""

    kindergarten: Kindergarten

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        kindergarten = staff_kindergarten(user=request.user, kindergarten_id=request.GET.get("kindergarten"))
        if kindergarten is None:
            return render(request, "placement/staff/choose.html", {"kindergartens": kindergartens_to_choose()})
        self.kindergarten = kindergarten
        return super().dispatch(request, *args, **kwargs)

    @property
    def scope_query(self) -> str:
        """The query string that keeps an admin on the kindergarten they picked."""
        if is_department_admin(self.request.user) and not self.request.user.is_kindergarten_staff:
            return "?" + urlencode({"kindergarten": self.kindergarten.pk})
        return ""

    def url(self, name: str, **kwargs) -> str:
        return reverse(f"placement:{name}", kwargs=kwargs or None) + self.scope_query

    def acts_on(self, kindergarten_id: int) -> None:
        """What the form names belongs to the kindergarten the page acts on (else 403, not_your_kindergarten)."""
        if kindergarten_id != self.kindergarten.pk:
            raise NotYourKindergarten()

    def context(self, **extra) -> dict:
        scope_query = self.scope_query
        return {
            "kindergarten": self.kindergarten,
            "scope_query": scope_query,
            "scope_param": scope_query.removeprefix("?"),  # the pagination's query without the page
            **extra,
        }


class StaffHomeView(StaffView):
    http_method_names = ["get"]

    def get(self, request):
        return self.render_home(request, ReleaseForm(kindergarten=self.kindergarten))

    def render_home(self, request, form: ReleaseForm, status: int = 200) -> HttpResponse:
        groups = kindergarten_groups_with_counts(kindergarten=self.kindergarten, at=timezone.now())
        return render(request, "placement/staff/home.html", self.context(groups=groups, form=form), status=status)


class StaffReleaseView(StaffHomeView):
    http_method_names = ["post"]

    def post(self, request):
        form = ReleaseForm(request.POST, kindergarten=self.kindergarten)
        if not form.is_valid():
            return self.render_home(request, form, status=400)
        group, count = form.cleaned_data["group"], form.cleaned_data["count"]
        self.acts_on(group.kindergarten_id)
        if not request.POST.get("confirm"):
            # A release is public at once and cannot be undone but by withdrawing each place: say what it will
            # do and ask again (issue 13); the same form, token included, is posted with `confirm`.
            timing = release_timing(group=group, at=timezone.now())
            context = self.context(form=form, group=group, group_label=group_label(group), count=count, timing=timing)
            return render(request, "placement/staff/release_confirm.html", context)
        try:
            place_release(group=group, count=count, by=request.user, submission=form.cleaned_data["token"])
        except ReleaseAlreadySubmitted as exc:
            messages.info(request, exc.message)
            return HttpResponseRedirect(self.url("staff-home"))
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.render_home(request, form, status=400)
        messages.success(
            request, ngettext("%(count)d place released", "%(count)d places released", count) % {"count": count}
        )
        return HttpResponseRedirect(self.url("staff-home"))


class StaffPlacesView(StaffView):
    http_method_names = ["get"]

    def get(self, request):
        return self.render_places(request)

    def render_places(self, request, *, failed: Place | None = None, failed_form=None, status: int = 200):
        now = timezone.now()
        page = Paginator(kindergarten_live_places(kindergarten=self.kindergarten, at=now), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        for place in page:
            place.access_label = Access(place.access).label
            place.withdraw_form = failed_form if failed and failed.pk == place.pk else withdraw_form_for(place)
        return render(
            request,
            "placement/staff/places.html",
            self.context(page=page, now=now),
            status=status,
        )


class StaffWithdrawView(StaffPlacesView):
    http_method_names = ["post"]

    def post(self, request, pk: int):
        place = get_object_or_404(Place.objects.select_related("group"), pk=pk)
        self.acts_on(place.kindergarten_id)
        form = withdraw_form_for(place, request.POST)
        if not form.is_valid():
            return self.render_places(request, failed=place, failed_form=form, status=400)
        try:
            place_withdraw(place=place, by=request.user, reason=form.cleaned_data["reason"])
        except PlaceNotWithdrawable as exc:
            messages.error(request, exc.message)
            return self.render_places(request, status=409)
        except ValidationError as exc:
            form.add_error("reason", exc)
            return self.render_places(request, failed=place, failed_form=form, status=400)
        messages.success(request, _("Place #%(id)d withdrawn.") % {"id": place.pk})
        return HttpResponseRedirect(self.url("staff-places"))


class StaffHistoryView(StaffView):
    http_method_names = ["get"]

    def get(self, request):
        page = Paginator(kindergarten_events(kindergarten=self.kindergarten), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        return render(request, "placement/staff/history.html", self.context(page=page))


class StaffReferralsView(StaffView):
    """The referrals to the kindergarten with their deadlines, each with its enrol button; the enrolled children."""

    http_method_names = ["get"]

    def get(self, request):
        return self.render_referrals(request)

    def render_referrals(self, request, status: int = 200) -> HttpResponse:
        now = timezone.now()
        referrals = list(kindergarten_live_referrals(kindergarten=self.kindergarten, at=now))
        for referral in referrals:
            referral.group_label = group_label(referral.place.group)
            # Staff call the parent about the documents or a missed deadline (issue 13).
            referral.parent_phone_display = phone_display(referral.parent.phone or "")
        page = Paginator(kindergarten_contracts(kindergarten=self.kindergarten), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        for contract in page:
            contract.group_label = group_label(contract.referral.place.group)
        return render(
            request,
            "placement/staff/referrals.html",
            self.context(referrals=referrals, page=page, now=now),
            status=status,
        )


class StaffEnrolView(StaffReferralsView):
    http_method_names = ["post"]

    def post(self, request, number: str):
        referral = get_object_or_404(Referral.objects.select_related("child"), number=referral_number_normalize(number))
        self.acts_on(referral.kindergarten_id)
        try:
            referral_enrol(referral=referral, by=request.user, ip=request_ip(request))
        except ReferralNotLive as exc:
            messages.error(request, exc.message)
            return self.render_referrals(request, status=409)
        child = referral.child
        messages.success(
            request,
            _("%(child)s is enrolled with referral %(number)s.")
            % {"child": f"{child.last_name} {child.first_name}".strip(), "number": referral.number},
        )
        return HttpResponseRedirect(self.url("staff-referrals"))
