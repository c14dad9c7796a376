"""Who may do what, one function per rule (STYLE.md, "Layers, errors, permissions"): services, views, the Django
admin and the DRF permission classes all ask these (DOMAIN.md, Who uses it)."""

from django.utils.translation import gettext_lazy as _

from indigo.errors import Forbidden


class NotDepartmentAdmin(Forbidden):
    message = _("Only department admins may do this.")


def is_department_admin(user) -> bool:
    """Education-department admins, and superusers, who may do all they may."""
    return bool(getattr(user, "is_department_admin", False) or getattr(user, "is_superuser", False))


def department_admin_require(user, message=None) -> None:
    """Raise NotDepartmentAdmin (403) unless `user` is a department admin; `message` says what was refused."""
    if not is_department_admin(user):
        raise NotDepartmentAdmin(message)


def admin_site_access(user) -> bool:
    """A department admin who may enter the Django admin (an active account with staff status)."""
    return bool(user.is_active and user.is_staff and is_department_admin(user))


def is_cabinet_holder(user) -> bool:
    """Parents (legal representatives) hold a personal cabinet; staff, department admins and superusers do not."""
    return bool(
        user
        and user.is_authenticated
        and getattr(user, "is_parent", False)
        and not user.is_superuser
        and not user.is_staff
    )
