from django.utils.translation import gettext_lazy as _


class PlacementError(Exception):
    """A refusal with a machine-readable `code` and a translated message for people."""

    code = "placement_error"
    message = _("The request cannot be carried out.")

    def __init__(self, message=None):
        super().__init__(message or self.message)
        self.message = message or self.message


class PlaceNotWithdrawable(PlacementError):
    code = "not_withdrawable"
    message = _("This place can no longer be withdrawn: it has been taken, enrolled or withdrawn already.")


class NotYourKindergarten(PlacementError):
    code = "not_your_kindergarten"
    message = _("You can only act on places of your own kindergarten.")


class ReleaseAlreadySubmitted(PlacementError):
    code = "already_submitted"
    message = _("This release was already submitted; nothing more was released.")
