"""Cabinet blocks for department admins: the blocks, finding a parent, blocking with the effects shown first,
lifting early with a reason (DOMAIN.md, People and security).

The rules (who may block, what a block does, the audit record) are `placement.services.blocks`'; these views find
the parent, show what the service would do, call it and redirect (POST-redirect-GET).
"""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import CabinetBlock
from accounts.permissions import is_department_admin
from accounts.selectors import block_active, blocks_list, parents_find
from accounts.services.blocks import ADMINS_ONLY, CabinetAlreadyBlocked, block_end, cabinet_unblock
from accounts.sms import mask_phone
from indigo.http import request_ip
from indigo.pages import RoleView

from ..selectors.parents import parent_held
from ..services.blocks import cabinet_block

PAGE_SIZE = 50
REASON_MAX_LENGTH = 500
User = get_user_model()


def person_label(user) -> str:
    return user.get_full_name() or user.get_username()


# --- Forms -----------------------------------------------------------------------------------------------------


class ParentSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Parent's phone or IIN"),
        max_length=32,
        help_text=_("Exactly: the phone the parent logs in with, or the parent's IIN."),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))


class BlockForm(ReasonForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = _("Reason for the block")
        self.fields["reason"].help_text = _("The parent sees it when a login is refused. It is kept in the audit log.")


class LiftForm(ReasonForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = _("Reason for lifting the block")


# --- Views -----------------------------------------------------------------------------------------------------


class BlockAdminView(RoleView):
    """Login, then department admins and superusers only; the 403 page for everyone else."""

    refusal = ADMINS_ONLY

    def allowed(self, user) -> bool:
        return is_department_admin(user)


class BlockListView(BlockAdminView):
    http_method_names = ["get"]

    def get(self, request):
        now = timezone.now()
        search = ParentSearchForm(request.GET if "q" in request.GET else None)
        found = None
        if search.is_valid():
            try:
                found = list(parents_find(query=search.cleaned_data["q"]))
            except ValidationError as exc:
                search.add_error("q", exc)
        for parent in found or []:
            parent.phone_masked = mask_phone(parent.phone)
            parent.active_block = block_active(user=parent, at=now)
        page = Paginator(blocks_list(), PAGE_SIZE).get_page(request.GET.get("page"))
        for block in page:
            block.state = block.state_at(now)
            block.user.phone_masked = mask_phone(block.user.phone)
        status = 400 if search.is_bound and search.errors else 200
        context = {"search": search, "found": found, "page": page, "now": now}
        return render(request, "placement/blocks/list.html", context, status=status)


class BlockNewView(BlockAdminView):
    """Step 1 (the parent chosen, no `confirm`): the effects of a block now and the reason field. Step 2
    (`confirm` with a reason): the block. Showing the effects reads only; confirming calls `cabinet_block`."""

    http_method_names = ["get", "post"]

    def parent(self, data):
        try:
            pk = int(data.get("user", ""))
        except ValueError as exc:
            raise Http404(_("No such parent.")) from exc
        return get_object_or_404(User, pk=pk, role=User.Role.PARENT)

    def get(self, request):
        return self.preview(request, self.parent(request.GET), BlockForm())

    def post(self, request):
        parent = self.parent(request.POST)
        if "confirm" not in request.POST:
            return self.preview(request, parent, BlockForm())
        form = BlockForm(request.POST)
        if not form.is_valid():
            return self.preview(request, parent, form, status=400)
        try:
            block = cabinet_block(
                user=parent, by=request.user, reason=form.cleaned_data["reason"], ip=request_ip(request)
            )
        except CabinetAlreadyBlocked as exc:
            # A second click on "Block" (or a second admin) must not stack blocks.
            messages.info(request, exc.message)
            return redirect("placement:blocks")
        except ValidationError as exc:
            form.add_error(None, exc)  # a field error ({"reason": ...}) lands on its field
            return self.preview(request, parent, form, status=400)
        messages.success(
            request,
            _(
                "The cabinet of %(name)s is blocked until %(until)s. Referrals cancelled: %(referrals)d. "
                "Contracts terminated: %(contracts)d."
            )
            % {
                "name": person_label(parent),
                "until": timezone.localtime(block.ends_at).strftime("%d.%m.%Y %H:%M"),
                "referrals": block.referrals_cancelled,
                "contracts": block.contracts_terminated,
            },
        )
        return redirect("placement:blocks")

    def preview(self, request, parent, form: BlockForm, status: int = 200) -> HttpResponse:
        now = timezone.now()
        referrals, contracts = parent_held(parent=parent)
        context = {
            "parent": parent,
            "phone_masked": mask_phone(parent.phone),
            "form": form,
            "referrals": referrals,
            "contracts": contracts,
            "active_block": block_active(user=parent, at=now),
            "starts_at": now,
            "ends_at": block_end(now),
        }
        return render(request, "placement/blocks/new.html", context, status=status)


class BlockLiftView(BlockAdminView):
    http_method_names = ["get", "post"]

    def get(self, request, pk: int):
        return self.page(request, self.block(pk), LiftForm())

    def post(self, request, pk: int):
        block = self.block(pk)
        if block.state_at(timezone.now()) != "active":
            messages.info(request, _("This block is no longer active."))
            return redirect("placement:blocks")
        form = LiftForm(request.POST)
        if not form.is_valid():
            return self.page(request, block, form, status=400)
        try:
            cabinet_unblock(block=block, by=request.user, reason=form.cleaned_data["reason"], ip=request_ip(request))
        except ValidationError as exc:
            form.add_error(None, exc)  # a field error ({"reason": ...}) lands on its field
            return self.page(request, block, form, status=400)
        messages.success(
            request, _("The block of the cabinet of %(name)s is lifted.") % {"name": person_label(block.user)}
        )
        return redirect("placement:blocks")

    def block(self, pk: int) -> CabinetBlock:
        return get_object_or_404(CabinetBlock.objects.select_related("user", "created_by"), pk=pk)

    def page(self, request, block: CabinetBlock, form: LiftForm, status: int = 200) -> HttpResponse:
        block.state = block.state_at(timezone.now())
        # Not "block": templates use that name for {% block %}.
        context = {"cabinet_block": block, "phone_masked": mask_phone(block.user.phone), "form": form}
        return render(request, "placement/blocks/lift.html", context, status=status)
