"""The parent's personal cabinet: children and their representations, applications and queue positions, recent
logins; add a child, apply, withdraw (DOMAIN.md, Who uses it; Queue; People and security).

Parents only: staff and admins get 403. A parent sees their own children only, and never another family's data;
addresses carry ids and application numbers, never an IIN or a name. Each POST calls one service and redirects
(POST-redirect-GET); bad input is shown on the form, never a 500.
"""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import View

from accounts.models import Child, Representation
from accounts.services.people import child_register
from accounts.services.sessions import logins_recent, request_ip

from ..forms import ApplicationForm, ChildForm
from ..models import Application
from ..selectors_claims import parent_contracts, parent_referrals, priority_standings
from ..selectors_queue import applications_with_positions, queue_position
from ..services.applications import AlreadyInQueue, NotWithdrawable, application_create, application_withdraw

RECENT_LOGINS = 10

# --- Who holds a cabinet (shared with the `me` API) ------------------------------------------------------


def is_cabinet_holder(user) -> bool:
    """Parents (legal representatives) hold a cabinet; staff, department admins and superusers do not."""
    return bool(
        user
        and user.is_authenticated
        and getattr(user, "is_parent", False)
        and not user.is_superuser
        and not user.is_staff
    )


def parent_login_url() -> str:
    """The parents' SMS login."""
    return reverse("accounts:otp-login")


# --- Reads for the pages and the API ---------------------------------------------------------------------


def parent_representations(*, parent) -> QuerySet[Representation]:
    """Every representation the parent asked for, whatever its status, with its child."""
    return Representation.objects.filter(parent=parent).select_related("child").order_by("created_at", "pk")


def parent_children_for_applying(*, parent) -> QuerySet[Child]:
    """The children the parent may apply for: those whose representation is not rejected."""
    # One filter() call: both conditions hold on the same representation (one per parent and child).
    return Child.objects.filter(
        representations__parent=parent,
        representations__status__in=[Representation.Status.PENDING, Representation.Status.CONFIRMED],
    ).order_by("last_name", "first_name", "pk")


def parent_child(*, parent, child_id) -> Child | None:
    return parent_children_for_applying(parent=parent).filter(pk=child_id).first()


def parent_applications(*, parent) -> QuerySet[Application]:
    """The applications a parent sees: the ones they filed, and the others of children they are the confirmed
    representative of (the other parent's). A representation still pending or rejected shows no one else's."""
    representations = Representation.objects.filter(parent=parent)
    confirmed_children = representations.filter(status=Representation.Status.CONFIRMED).values("child_id")
    rejected_children = representations.filter(status=Representation.Status.REJECTED).values("child_id")
    # A union of two index lookups (by parent; by the represented children), not an OR of both: PostgreSQL
    # cannot use an index for `parent = X OR child IN (subquery)` and would read the whole table (12 ms at
    # 30,000 applications, 0.7 ms this way), and its row estimate would price the positions' counts out of scale.
    visible = (
        Application.objects.filter(parent=parent)
        .order_by()
        .values("pk")
        .union(Application.objects.filter(child_id__in=confirmed_children).order_by().values("pk"), all=True)
    )
    return (
        Application.objects.filter(pk__in=visible)
        .exclude(child_id__in=rejected_children)
        .select_related("city", "child")
        .order_by("-applied_at", "-pk")
    )


def normalize_application_number(value: str) -> str:
    """XXXX-XXXX-XXXX from what people type: any case, with or without dashes and spaces; Crockford's
    look-alikes (O for 0, I and L for 1) read as the digits they stand for."""
    raw = "".join(ch for ch in str(value or "").upper() if ch.isalnum())
    raw = raw.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))
    if len(raw) != 12 or not raw.isascii():
        return ""
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def parent_application(*, parent, number: str) -> Application | None:
    number = normalize_application_number(number)
    if not number:
        return None
    return parent_applications(parent=parent).filter(number=number).first()


# --- Views -----------------------------------------------------------------------------------------------


class CabinetView(View):
    """Login, then parents only: a 403 page for staff and admins."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), login_url=parent_login_url())
        if not is_cabinet_holder(request.user):
            return render(
                request,
                "cabinet/forbidden.html",
                {"message": _("The personal cabinet is for parents and legal representatives.")},
                status=403,
            )
        return super().dispatch(request, *args, **kwargs)

    def home(self) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("placement:cabinet"))


class CabinetHomeView(CabinetView):
    http_method_names = ["get"]

    def get(self, request):
        parent = request.user
        now = timezone.now()
        representations = list(parent_representations(parent=parent))
        applications = applications_with_positions(parent_applications(parent=parent))
        standings = priority_standings(applications, at=now, positions={a.pk: a.position for a in applications})
        for application in applications:
            application.standing = standings.get(application.pk)
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
        data = form.cleaned_data
        child = parent_child(parent=request.user, child_id=data["child"])
        if child is None:
            raise Http404(gettext("No such child among yours."))
        try:
            application = application_create(
                parent=request.user,
                child=child,
                city=data["city"],
                language=data["language"],
                group_type=data["group_type"],
                privilege=data["privilege"],
                privilege_document=data["privilege_document"],
                ip=request_ip(request),
            )
        except AlreadyInQueue as exc:
            form.add_error(None, str(exc.message))
            return self.render_form(request, form, children=children, status=409)
        except PermissionDenied as exc:
            raise Http404(gettext("No such child among yours.")) from exc
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
            raise Http404(gettext("No such application among yours."))
        return application

    def get(self, request, number: str):
        application = self.application(request, number)
        application.position = queue_position(application)
        return render(request, "cabinet/withdraw.html", {"application": application})

    def post(self, request, number: str):
        application = self.application(request, number)
        try:
            application_withdraw(application=application, by=request.user, ip=request_ip(request))
        except NotWithdrawable as exc:
            messages.error(request, str(exc.message))
            return self.home()
        except PermissionDenied as exc:
            raise Http404(gettext("No such application among yours.")) from exc
        messages.success(request, gettext("Application %(number)s withdrawn.") % {"number": application.number})
        return self.home()
