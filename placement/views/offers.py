"""Offer mode in the parent's cabinet (issue 14; DOMAIN.md, Allocation modes): an application's ranked choices,
an offer's page with accept and decline (decline asks for confirmation), resuming a paused application.

Parents only, like the rest of the cabinet. Another family's application or offer, or an id that does not exist,
is a 404 and changes nothing; an application of a city in claim mode has no choices (404, `not_offer_mode`). Each
POST calls one service and redirects (POST-redirect-GET); a refusal is shown on the page it came from, translated,
with its status, never a 500. A second POST of the same form (a double click, a resubmitted page) lands where the
first did: an offer accepted already leads to its referral, one declined already or an application resumed
already says so, and the same choices saved twice are the same choices.
"""

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from indigo.errors import DomainError
from indigo.http import request_ip
from indigo.pages import refusal_message

from ..forms import ChoicesForm
from ..models import Application, Offer, ReturnReason
from ..selectors.offer_pages import (
    application_choices,
    choice_kindergartens,
    parent_offer_application_get,
    parent_offer_get,
    resume_until,
)
from ..selectors.queue import queue_position
from ..services.choices import choices_set
from ..services.offers import application_resume, offer_accept, offer_decline
from .cabinet import CabinetView


def cabinet_url() -> str:
    return reverse("placement:cabinet")


class ChoicesView(CabinetView):
    """GET shows the application's ranked kindergartens as a form (one select per rank); POST saves them."""

    http_method_names = ["get", "post"]

    def form(self, application: Application, data=None) -> ChoicesForm:
        kindergartens = list(choice_kindergartens(application=application))
        initial = ChoicesForm.initial_for(
            choices=application_choices(application=application), any_other=application.any_other
        )
        return ChoicesForm(data, initial=initial, kindergartens=kindergartens, ranks=application.city.choices_max)

    def get(self, request, number: str):
        application = parent_offer_application_get(parent=request.user, number=number)
        return self.render_form(request, application, self.form(application))

    def post(self, request, number: str):
        application = parent_offer_application_get(parent=request.user, number=number)
        form = self.form(application, request.POST)
        if not form.is_valid():
            return self.render_form(request, application, form, status=400)
        try:
            choices_set(
                application=application,
                kindergartens=form.kindergarten_ids(),
                any_other=form.cleaned_data["any_other"],
                actor=request.user,
                at=timezone.now(),
                ip=request_ip(request),
            )
        except DomainError as exc:
            form.add_error(None, refusal_message(exc))
            return self.render_form(request, application, form, status=exc.status)
        messages.success(
            request,
            gettext("The kindergartens of application %(number)s are saved.") % {"number": application.number},
        )
        return HttpResponseRedirect(cabinet_url())

    def render_form(self, request, application, form, status: int = 200) -> HttpResponse:
        context = {"application": application, "form": form, "choices_max": application.city.choices_max}
        return render(request, "cabinet/choices.html", context, status=status)


def _offer_context(offer: Offer, *, problem=None) -> dict:
    return {
        "offer": offer,
        "place": offer.place,
        "group": offer.place.group,
        "kindergarten": offer.kindergarten,
        "application": offer.application,
        "live": offer.answerable(timezone.now()),
        "problem": problem,
        "problem_message": refusal_message(problem) if problem is not None else "",
    }


class _OfferAnswerPage(CabinetView):
    """An offer's page: GET shows it, POST answers it (`answer`, which redirects). A second POST of an answer given
    already (`answered_already`) lands where the first did; a refusal is shown on this page with its status."""

    http_method_names = ["get", "post"]

    def get(self, request, pk: int):
        offer = parent_offer_get(parent=request.user, offer_id=pk)
        return render(request, self.template_name, _offer_context(offer))

    def post(self, request, pk: int):
        offer = parent_offer_get(parent=request.user, offer_id=pk)
        if (again := self.answered_already(request, offer)) is not None:
            return again
        try:
            return self.answer(request, offer)
        except DomainError as exc:
            offer.refresh_from_db()
            # Two clicks at once: the first answered while this one waited for the lock, and this one lands there too.
            if (again := self.answered_already(request, offer)) is not None:
                return again
            return render(request, self.template_name, _offer_context(offer, problem=exc), status=exc.status)

    def answered_already(self, request, offer: Offer) -> HttpResponse | None:
        raise NotImplementedError

    def answer(self, request, offer: Offer) -> HttpResponse:
        raise NotImplementedError


class OfferView(_OfferAnswerPage):
    """The offer: kindergarten, group, the deadline, Accept (POST here) and a link to decline."""

    template_name = "cabinet/offer.html"

    def answered_already(self, request, offer: Offer) -> HttpResponse | None:
        if offer.state == Offer.State.ACCEPTED and offer.referral_id is not None:  # a double click
            messages.info(request, gettext("You have already accepted this offer: here is your referral."))
            return HttpResponseRedirect(reverse("placement:referral", kwargs={"number": offer.referral.number}))
        return None

    def answer(self, request, offer: Offer) -> HttpResponse:
        referral = offer_accept(offer=offer, parent=request.user, at=timezone.now(), ip=request_ip(request))
        messages.success(
            request,
            gettext("The place is yours: referral %(number)s. Take it to the kindergarten before the deadline.")
            % {"number": referral.number},
        )
        return HttpResponseRedirect(reverse("placement:referral", kwargs={"number": referral.number}))


class OfferDeclineView(_OfferAnswerPage):
    """GET asks for confirmation, POST declines: the place goes to the next run, the application stays queued."""

    template_name = "cabinet/offer_decline.html"

    def answered_already(self, request, offer: Offer) -> HttpResponse | None:
        # A double click; an offer withdrawn with its application or by a block was not declined by the parent.
        withdrawn = (ReturnReason.OFFER_WITHDRAWN, ReturnReason.OFFER_BLOCKED)
        if offer.state == Offer.State.DECLINED and offer.close_reason not in withdrawn:
            messages.info(request, gettext("You have already declined this offer."))
            return HttpResponseRedirect(cabinet_url())
        return None

    def answer(self, request, offer: Offer) -> HttpResponse:
        offer_decline(offer=offer, parent=request.user, at=timezone.now(), ip=request_ip(request))
        messages.success(
            request,
            gettext("Offer declined. Application %(number)s stays in the queue with its time.")
            % {"number": offer.application.number},
        )
        return HttpResponseRedirect(cabinet_url())


class ResumeView(CabinetView):
    """GET asks for confirmation, POST resumes a paused application (once, within 28 days, time kept)."""

    http_method_names = ["get", "post"]
    template_name = "cabinet/resume.html"

    def render_page(self, request, application, *, problem=None) -> HttpResponse:
        context = {
            "application": application,
            "position": queue_position(application),
            "resume_until": resume_until(application),
            "problem": problem,
            "problem_message": refusal_message(problem) if problem is not None else "",
        }
        return render(request, self.template_name, context, status=problem.status if problem else 200)

    def get(self, request, number: str):
        return self.render_page(request, parent_offer_application_get(parent=request.user, number=number))

    def post(self, request, number: str):
        application = parent_offer_application_get(parent=request.user, number=number)
        if application.paused_at is None:  # a double click, or nothing to resume
            messages.info(request, gettext("Application %(number)s is not paused.") % {"number": application.number})
            return HttpResponseRedirect(cabinet_url())
        try:
            application_resume(application=application, parent=request.user, at=timezone.now(), ip=request_ip(request))
        except DomainError as exc:
            application.refresh_from_db()
            return self.render_page(request, application, problem=exc)
        messages.success(
            request,
            gettext("Application %(number)s is back in the allocation with its time.") % {"number": application.number},
        )
        return HttpResponseRedirect(cabinet_url())
