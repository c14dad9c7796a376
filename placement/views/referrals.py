"""The parent's side of claims: the confirmation step before taking a place, the referral page (and its printable
version), declining a referral (DOMAIN.md, Places and their access 3-4; Referral, enrolment, contract).

Parents only, like the cabinet. A place id that does not exist, or an application number that is not one of the
parent's, is a 404 and changes nothing. Each POST calls one service and redirects (POST-redirect-GET); a place
taken meanwhile (409) or a refusal (403) is shown on the confirmation page with its translated reason, never a
500. Taking the same place twice (a double click) lands on the same referral: place_claim returns it again.
"""

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from indigo.http import request_ip
from indigo.pages import refusal_message

from ..errors import (
    ClaimRateLimited,
    ClaimRefused,
    NoSuchApplication,
    NoSuchPlace,
    NoSuchReferral,
    NotReferralHolder,
    PlaceGone,
    ReferralNotLive,
)
from ..models import Application, Place, Referral
from ..models.queue import application_number_normalize
from ..models.referrals import referral_valid_until
from ..selectors.claims import claim_application, claim_place, claim_refusal, place_gone, place_twin
from ..selectors.parents import parent_referral
from ..selectors.queue import queue_position
from ..services.claims import claim_attempt_register, place_claim
from ..services.referrals import referral_decline
from .cabinet import CabinetView


def referral_url(referral: Referral) -> str:
    return reverse("placement:referral", kwargs={"number": referral.number})


# How many identical places a confirmed claim tries, each taken meanwhile by someone else, before it gives up.
TWIN_ATTEMPTS = 5


def claim_url(place: Place, application: Application) -> str:
    return reverse("placement:place-claim", kwargs={"pk": place.pk}) + f"?application={application.number}"


def place_for_claim(pk: int) -> Place:
    place = claim_place(pk)
    if place is None:
        raise NoSuchPlace()
    return place


class ClaimConfirmView(CabinetView):
    """GET shows the place, the child and the referral's deadline and asks to confirm; POST takes the place."""

    http_method_names = ["get", "post"]
    template_name = "placement/claim_confirm.html"

    def application(self, request, at) -> Application:
        number = request.POST.get("application") or request.GET.get("application") or ""
        found = claim_application(
            parent=request.user, number=application_number_normalize(number), at=at
        )
        if found.application is None:
            raise NoSuchApplication()
        return found.application

    def get(self, request, pk: int):
        now = timezone.now()
        place = place_for_claim(pk)
        application = self.application(request, now)
        if place.live_application_id == application.pk:  # back after taking it, or a second tab
            existing = Referral.objects.filter(place=place, application=application, status=Referral.Status.LIVE)
            if (existing := existing.first()) is not None:
                return HttpResponseRedirect(referral_url(existing))
        gone = place_gone(place, now)
        if gone is not None and (twin := place_twin(place=place, at=now)) is not None:
            # Someone took the first of identical places (one button in the registry): offer the next of them.
            return HttpResponseRedirect(claim_url(twin, application))
        problem = gone or claim_refusal(place=place, application=application, by=request.user, at=now)
        return self.render_page(request, place=place, application=application, problem=problem, at=now)

    def post(self, request, pk: int):
        now = timezone.now()
        ip = request_ip(request)
        try:
            claim_attempt_register(by=request.user, at=now, ip=ip)
        except ClaimRateLimited as exc:
            limited = exc
        else:
            limited = None
        place = place_for_claim(pk)
        application = self.application(request, now)
        if limited is not None:
            return self.render_page(request, place=place, application=application, problem=limited, at=now)
        for _attempt in range(TWIN_ATTEMPTS):
            try:
                referral, created = place_claim(place=place, application=application, by=request.user, at=now, ip=ip)
                break
            except PlaceGone as exc:
                # Taken meanwhile: an identical place does as well (the parent confirmed the row, not the number).
                twin = place_twin(place=place, at=now)
                if twin is None:
                    return self.render_page(request, place=place, application=application, problem=exc, at=now)
                place = twin
            except ClaimRefused as exc:
                return self.render_page(request, place=place, application=application, problem=exc, at=now)
        else:
            return self.render_page(request, place=place, application=application, problem=PlaceGone("taken"), at=now)
        if created:
            messages.success(
                request,
                gettext("The place is yours: referral %(number)s. Take it to the kindergarten before the deadline.")
                % {"number": referral.number},
            )
        else:
            messages.info(request, gettext("You have already taken this place: here is your referral."))
        return HttpResponseRedirect(referral_url(referral))

    def render_page(self, request, *, place, application, problem, at) -> HttpResponse:
        status = 200 if problem is None else problem.status
        context = {
            "place": place,
            "application": application,
            "access": place.access_at(at),
            "problem": problem,
            "problem_message": refusal_message(problem) if problem is not None else "",
            "position": queue_position(application),
            "valid_until": referral_valid_until(at),
        }
        response = render(request, self.template_name, context, status=status)
        for name, value in getattr(problem, "headers", {}).items():
            response[name] = value
        return response


class ReferralView(CabinetView):
    """The referral: kindergarten, address, group, child, the deadline; `?print=1` gives the printable page."""

    http_method_names = ["get"]

    def get(self, request, number: str):
        referral = referral_or_404(request, number)
        template = "placement/referral_print.html" if request.GET.get("print") == "1" else "placement/referral.html"
        return render(request, template, referral_context(request, referral))


def referral_or_404(request, number: str) -> Referral:
    referral = parent_referral(parent=request.user, number=number)
    if referral is None:
        raise NoSuchReferral()
    return referral


def referral_context(request, referral: Referral) -> dict:
    now = timezone.now()
    live = referral.status == Referral.Status.LIVE
    return {
        "referral": referral,
        "place": referral.place,
        "group": referral.place.group,
        "kindergarten": referral.kindergarten,
        "child": referral.child,
        "live": live,
        "overdue": live and referral.valid_until <= now,
        "may_decline": live and referral.parent_id == request.user.pk,
    }


class ReferralDeclineView(CabinetView):
    """GET asks for confirmation, POST declines: the place returns to priority access as a new release."""

    http_method_names = ["get", "post"]

    def get(self, request, number: str):
        referral = referral_or_404(request, number)
        return render(request, "placement/referral_decline.html", referral_context(request, referral))

    def post(self, request, number: str):
        referral = referral_or_404(request, number)
        try:
            referral_decline(referral=referral, by=request.user, ip=request_ip(request))
        except (ReferralNotLive, NotReferralHolder) as exc:
            messages.error(request, refusal_message(exc))
        else:
            messages.success(
                request,
                gettext("Referral %(number)s declined. The place has returned to the registry.")
                % {"number": referral.number},
            )
        return HttpResponseRedirect(referral_url(referral))
