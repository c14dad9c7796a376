from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """Everyone who logs in: parents (legal representatives), kindergarten staff and department admins.

    The role decides what a user may do; staff are tied to their kindergarten by the placement app.
    """

    class Role(models.TextChoices):
        PARENT = "parent", _("Parent or legal representative")
        STAFF = "staff", _("Kindergarten staff")
        ADMIN = "admin", _("Education department admin")

    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.PARENT)
    kindergarten = models.ForeignKey(
        "placement.Kindergarten",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("kindergarten"),
        help_text=_("For kindergarten staff: the only kindergarten they act on."),
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")
        swappable = "AUTH_USER_MODEL"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(role="staff") | models.Q(kindergarten__isnull=False),
                name="staff_user_has_kindergarten",
            )
        ]

    @property
    def is_parent(self) -> bool:
        return self.role == self.Role.PARENT

    @property
    def is_kindergarten_staff(self) -> bool:
        return self.role == self.Role.STAFF

    @property
    def is_department_admin(self) -> bool:
        return self.role == self.Role.ADMIN
