"""Who acts on what in placement, one function per rule (DOMAIN.md, Who uses it; STYLE.md): the services, the
pages and the DRF permission classes below all ask these.

- Kindergarten staff act on their own kindergarten only; department admins on any (`kindergarten_acts_on`).
- A parent acts for a child they represent: pending is enough to queue, claiming needs it confirmed
  (`parent_holds_child`).
"""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from accounts.models import Representation
from accounts.permissions import is_cabinet_holder, is_department_admin

from .errors import NoSuchKindergarten, NotKindergartenStaff, NotYourKindergarten
from .models import Kindergarten


def is_kindergarten_staff(user) -> bool:
    return bool(getattr(user, "is_kindergarten_staff", False) and getattr(user, "kindergarten_id", None))


def kindergarten_acts_on(user, kindergarten_id) -> bool:
    """Whether `user` may act on the kindergarten: its own staff, and department admins."""
    if is_department_admin(user):
        return True
    return is_kindergarten_staff(user) and str(user.kindergarten_id) == str(kindergarten_id)


def kindergarten_act_require(user, kindergarten_id) -> None:
    """Raise NotYourKindergarten (403) for another kindergarten's staff, NotKindergartenStaff (403) for anyone who
    is neither staff nor a department admin. `user` None is the system itself (the 18:00 run, imports)."""
    if user is None or kindergarten_acts_on(user, kindergarten_id):
        return
    if is_kindergarten_staff(user):
        raise NotYourKindergarten()
    raise NotKindergartenStaff()


def staff_kindergarten(*, user, kindergarten_id=None) -> Kindergarten | None:
    """The kindergarten a user acts on in the staff pages and API: staff, their own always (asking for another is
    refused with NotYourKindergarten); department admins, the one they ask for, or None while they have not picked
    one (an id that names none is a 404); anyone else is refused."""
    if is_kindergarten_staff(user):
        if kindergarten_id not in (None, ""):
            kindergarten_act_require(user, kindergarten_id)
        return user.kindergarten
    if not is_department_admin(user):
        raise NotKindergartenStaff()
    if kindergarten_id in (None, ""):
        return None
    try:
        return Kindergarten.objects.select_related("city").get(pk=int(kindergarten_id))
    except (ValueError, Kindergarten.DoesNotExist) as exc:
        raise NoSuchKindergarten() from exc


def parent_holds_child(*, parent, child_id: int, confirmed: bool = False) -> bool:
    """Whether `parent` represents the child: any representation not rejected, or only a confirmed one."""
    representations = Representation.objects.filter(parent=parent, child_id=child_id)
    if confirmed:
        return representations.filter(status=Representation.Status.CONFIRMED).exists()
    return representations.exclude(status=Representation.Status.REJECTED).exists()


# --- The same rules for DRF ----------------------------------------------------------------------------------


class IsCabinetHolder(BasePermission):
    message = _("The personal cabinet is for parents and legal representatives.")

    def has_permission(self, request, view) -> bool:
        return is_cabinet_holder(request.user)


class IsKindergartenStaffOrAdmin(BasePermission):
    message = NotKindergartenStaff.message

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and (is_kindergarten_staff(user) or is_department_admin(user)))
