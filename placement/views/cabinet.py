"""The parent's personal cabinet: children and their representations, applications and queue positions, recent
logins; add a child, apply, withdraw (DOMAIN.md, Who uses it; Queue; People and security).

Parents only: staff and admins get 403. A parent sees their own children only, and never another family's data;
addresses carry ids and application numbers, never an IIN or a name. Each POST calls one service and redirects
(POST-redirect-GET); bad input is shown on the form, never a 500.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Representation
from accounts.permissions import is_cabinet_holder
from accounts.selectors import logins_recent
from accounts.services.people import child_register
from indigo.http import request_ip
from indigo.pages import RoleView

from ..errors import AlreadyInQueue, ApplicationNotWithdrawable, CohortNotServed, NoSuchApplication, NoSuchChild
from ..forms import ApplicationForm, ChildForm
from ..models import Application
from ..selectors.claims import registry_choices
from ..selectors.offer_pages import applications_choices, city_offers, resume_until
from ..selectors.offers import parent_offers
from ..selectors.parents import (
    parent_application,
    parent_applications,
    parent_child,
    parent_children_for_applying,
    parent_contracts,
    parent_referrals,
    parent_representations,
)
from ..selectors.queue import applications_with_positions, queue_position
from ..selectors.registry import RegistryFilters
from ..services.applications import application_create, application_withdraw
from ..services.choices import EDITABLE_STATUSES

RECENT_LOGINS = 10


def parent_login_url() -> str:
    """The parents' SMS login."""
    return reverse("accounts:otp-login")


class CabinetView(RoleView):
    """Login (by SMS), then parents only: the 403 page for staff and admins."""

    refusal = _("The personal cabinet is for parents and legal representatives.")

    def allowed(self, user) -> bool:
        return is_cabinet_holder(user)

    def login_url(self) -> str:
        return parent_login_url()

    def home(self) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("placement:cabinet"))


class CabinetHomeView(CabinetView):
    http_method_names = ["get"]

    def get(self, request):
        parent = request.user
        now = timezone.now()
        representations = list(parent_representations(parent=parent))
        applications = applications_with_positions(parent_applications(parent=parent))
        # What each application may take now, judged by the claim rule on the registry's places (issue 13: language
        # and group type counted, not only the position), with a link to those places.
        active = [a for a in applications if a.status in Application.ACTIVE_STATUSES]
        chances = {}
        if active:
            _choices, found = registry_choices(parent=parent, applications=active, filters=RegistryFilters(), at=now)
            chances = {chance.application.pk: chance for chance in found}
        for application in applications:
            application.chances = chances.get(application.pk)
        # Offer mode (issue 14): each application of such a city shows its ranked kindergartens, and a paused one
        # until when it may be resumed; the live offers come first on the page.
        offer_applications = [a for a in applications if city_offers(a.city)]
        ranked = applications_choices(applications=offer_applications) if offer_applications else {}
        for application in offer_applications:
            application.offer_mode = True
            application.choices_editable = application.status in EDITABLE_STATUSES
            application.ranked = ranked.get(application.pk, [])
            application.resume_until = resume_until(application)
            application.may_resume = application.resume_until is not None and application.resume_until > now
        offers = parent_offers(parent=parent, at=now) if offer_applications else []
        live_offers = [offer for offer in offers if offer.answerable(now)]
        referrals = list(parent_referrals(parent=parent))
        by_child: dict[int, list[Application]] = {}
        for application in applications:
            by_child.setdefault(application.child_id, []).append(application)
        for representation in representations:
            representation.child_applications = by_child.get(representation.child_id, [])
        return render(
            request,
            "cabinet/home.html",
            {
                "representations": representations,
                "can_apply": any(r.status != Representation.Status.REJECTED for r in representations),
                "offer_mode": bool(offer_applications),
                "live_offers": live_offers,
                "live_referrals": [r for r in referrals if r.status == "live"],
                "past_referrals": [r for r in referrals if r.status != "live"],
                "contracts": list(parent_contracts(parent=parent)),
                "logins": logins_recent(user=parent, n=RECENT_LOGINS),
            },
        )


class ChildAddView(CabinetView):
    http_method_names = ["get", "post"]

    def get(self, request):
        return self.render_form(request, ChildForm())

    def post(self, request):
        form = ChildForm(request.POST)
        if not form.is_valid():
            return self.render_form(request, form, status=400)
        try:
            child_register(parent=request.user, ip=request_ip(request), **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.render_form(request, form, status=400)
        messages.success(
            request,
            gettext("Child added. The education department will confirm your representation; you may apply now."),
        )
        return self.home()

    def render_form(self, request, form: ChildForm, status: int = 200) -> HttpResponse:
        return render(request, "cabinet/child_add.html", {"form": form}, status=status)


class ApplyView(CabinetView):
    http_method_names = ["get", "post"]

    def get(self, request):
        children = parent_children_for_applying(parent=request.user)
        initial = {}
        if request.GET.get("child", "").isdigit():
            initial["child"] = int(request.GET["child"])
        return self.render_form(request, ApplicationForm(children=children, initial=initial), children=children)

    def post(self, request):
        children = parent_children_for_applying(parent=request.user)
        form = ApplicationForm(request.POST, children=children)
        if not form.is_valid():
            return self.render_form(request, form, children=children, status=400)
        data = dict(form.cleaned_data)
        child = parent_child(parent=request.user, child_id=data.pop("child"))
        if child is None:
            raise NoSuchChild()
        try:
            application = application_create(parent=request.user, child=child, ip=request_ip(request), **data)
        except (AlreadyInQueue, CohortNotServed) as exc:
            form.add_error(None, str(exc.message))
            return self.render_form(request, form, children=children, status=exc.status)
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.render_form(request, form, children=children, status=400)
        messages.success(
            request,
            gettext("Application %(number)s is in the queue, position %(position)s.")
            % {"number": application.number, "position": queue_position(application)},
        )
        return self.home()

    def render_form(self, request, form: ApplicationForm, *, children, status: int = 200) -> HttpResponse:
        return render(request, "cabinet/apply.html", {"form": form, "has_children": children.exists()}, status=status)


class WithdrawView(CabinetView):
    """GET asks for confirmation, POST withdraws. Another family's number is a 404, like an unknown one."""

    http_method_names = ["get", "post"]

    def application(self, request, number: str) -> Application:
        application = parent_application(parent=request.user, number=number)
        if application is None:
            raise NoSuchApplication()
        return application

    def get(self, request, number: str):
        application = self.application(request, number)
        application.position = queue_position(application)
        return render(request, "cabinet/withdraw.html", {"application": application})

    def post(self, request, number: str):
        application = self.application(request, number)
        try:
            application_withdraw(application=application, by=request.user, ip=request_ip(request))
        except ApplicationNotWithdrawable as exc:
            messages.error(request, str(exc.message))
            return self.home()
        messages.success(request, gettext("Application %(number)s withdrawn.") % {"number": application.number})
        return self.home()
