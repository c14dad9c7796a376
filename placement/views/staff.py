"""Kindergarten staff pages: their groups and live places, releasing and withdrawing places, their history,
the referrals to their kindergarten and the enrolment of the children who hold them.

DOMAIN.md, Who uses it: staff act on their own kindergarten only; department admins on the one they pick
(`?kindergarten=<id>`). The rules themselves live in `placement.services`; these views parse the form, call one
service and redirect (POST-redirect-GET).
"""

import datetime as dt
import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, Count, Q, QuerySet, Value, When
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views import View

from accounts.services.sessions import request_ip

from ..models import Access, Contract, Group, Kindergarten, Place, PlaceEvent, Referral
from ..services import PlaceNotWithdrawable, place_release, place_withdraw
from ..services.claims import ReferralNotLive, referral_enrol
from ..services.errors import NotYourKindergarten, ReleaseAlreadySubmitted
from ..services.places import MAX_RELEASE, REASON_MAX_LENGTH

PAGE_SIZE = 50


# --- Who acts on which kindergarten (shared with the staff API) ------------------------------------------


def is_department_admin(user) -> bool:
    return bool(getattr(user, "is_department_admin", False) or getattr(user, "is_superuser", False))


def staff_kindergarten(*, user, kindergarten_id=None) -> Kindergarten | None:
    """The kindergarten a user acts on in the staff pages and API.

    Staff: their own, always (asking for another one is refused with `NotYourKindergarten`). Department admins:
    the one they ask for, or None while they have not picked one. Anyone else: `PermissionDenied`.
    """
    if getattr(user, "is_kindergarten_staff", False) and user.kindergarten_id:
        if kindergarten_id not in (None, "") and str(kindergarten_id) != str(user.kindergarten_id):
            raise NotYourKindergarten()
        return user.kindergarten
    if is_department_admin(user):
        if kindergarten_id in (None, ""):
            return None
        try:
            return Kindergarten.objects.select_related("city").get(pk=int(kindergarten_id))
        except (ValueError, Kindergarten.DoesNotExist) as exc:
            raise Http404(_("No such kindergarten.")) from exc
    raise PermissionDenied(_("Only kindergarten staff and department admins may do this."))


# --- Reads for the pages and the API ---------------------------------------------------------------------


def _access_now(at: dt.datetime) -> Case:
    """A place's access from the clock (DOMAIN.md, Places and their access), as a database expression."""
    return Case(
        When(entered_priority_at__gt=at, then=Value(Access.SCHEDULED.value)),
        When(priority_until__gt=at, then=Value(Access.PRIORITY.value)),
        default=Value(Access.GENERAL.value),
    )


def kindergarten_groups_with_counts(*, kindergarten: Kindergarten, at: dt.datetime) -> QuerySet[Group]:
    """The kindergarten's groups, each with its live places counted by access at `at`."""
    live = Q(places__state__in=Place.LIVE_STATES)
    return (
        Group.objects.filter(kindergarten=kindergarten)
        .annotate(
            scheduled_count=Count("places", filter=live & Q(places__entered_priority_at__gt=at)),
            priority_count=Count(
                "places", filter=live & Q(places__entered_priority_at__lte=at, places__priority_until__gt=at)
            ),
            general_count=Count("places", filter=live & Q(places__priority_until__lte=at)),
        )
        .order_by("-birth_year", "language", "group_type", "name", "pk")
    )


def kindergarten_live_places(*, kindergarten: Kindergarten | None, at: dt.datetime) -> QuerySet[Place]:
    """Live places (scheduled, priority, general) with their access at `at`; every kindergarten's when None."""
    places = Place.objects.live().select_related("group", "kindergarten").annotate(access=_access_now(at))
    if kindergarten is not None:
        places = places.filter(kindergarten=kindergarten)
    return places.order_by("-group__birth_year", "group__language", "group_id", "pk")


def kindergarten_events(*, kindergarten: Kindergarten | None) -> QuerySet[PlaceEvent]:
    """The chronology of a kindergarten's places, newest first; every kindergarten's when None."""
    events = PlaceEvent.objects.select_related("by", "place__group")
    if kindergarten is not None:
        events = events.filter(kindergarten=kindergarten)
    return events.order_by("-at", "-pk")


def kindergarten_live_referrals(*, kindergarten: Kindergarten | None, at: dt.datetime) -> QuerySet[Referral]:
    """Referrals the kindergarten may still enrol at `at` (live and within validity), the nearest deadline first;
    every kindergarten's when None. A referral past its deadline is left out even before the 18:00 run closes it:
    enrolment refuses it anyway (DOMAIN.md, Referral, enrolment, contract)."""
    referrals = Referral.objects.filter(status=Referral.Status.LIVE, valid_until__gte=at).select_related(
        "child", "place__group", "kindergarten"
    )
    if kindergarten is not None:
        referrals = referrals.filter(kindergarten=kindergarten)
    return referrals.order_by("valid_until", "pk")


def kindergarten_contracts(*, kindergarten: Kindergarten | None) -> QuerySet[Contract]:
    """The children enrolled in the kindergarten (active and terminated contracts), newest first."""
    contracts = Contract.objects.select_related("child", "referral__place__group", "kindergarten")
    if kindergarten is not None:
        contracts = contracts.filter(kindergarten=kindergarten)
    return contracts.order_by("-enrolled_at", "-pk")


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
        try:
            kindergarten = staff_kindergarten(user=request.user, kindergarten_id=request.GET.get("kindergarten"))
            if kindergarten is None:
                return self.choose_kindergarten(request)
            self.kindergarten = kindergarten
            return super().dispatch(request, *args, **kwargs)
        except (PermissionDenied, NotYourKindergarten) as exc:
            return forbidden(request, exc)

    def choose_kindergarten(self, request) -> HttpResponse:
        kindergartens = Kindergarten.objects.select_related("city").order_by("city__slug", "code")
        return render(request, "placement/staff/choose.html", {"kindergartens": kindergartens})

    @property
    def scope_query(self) -> str:
        """The query string that keeps an admin on the kindergarten they picked."""
        if is_department_admin(self.request.user) and not self.request.user.is_kindergarten_staff:
            return "?" + urlencode({"kindergarten": self.kindergarten.pk})
        return ""

    def url(self, name: str, **kwargs) -> str:
        return reverse(f"placement:{name}", kwargs=kwargs or None) + self.scope_query

    def context(self, **extra) -> dict:
        scope_query = self.scope_query
        return {
            "kindergarten": self.kindergarten,
            "scope_query": scope_query,
            "page_query": f"{scope_query}&page=" if scope_query else "?page=",
            **extra,
        }


def forbidden(request, exc: Exception) -> HttpResponse:
    message = getattr(exc, "message", None) or (exc.args[0] if exc.args else "")
    return render(request, "placement/staff/forbidden.html", {"message": message}, status=403)


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
        if group.kindergarten_id != self.kindergarten.pk:
            raise NotYourKindergarten()
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
        if place.kindergarten_id != self.kindergarten.pk:
            raise NotYourKindergarten()
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
        referral = get_object_or_404(Referral.objects.select_related("child"), number=number.strip().upper())
        if referral.kindergarten_id != self.kindergarten.pk:
            raise NotYourKindergarten()
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
