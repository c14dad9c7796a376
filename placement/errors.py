"""Placement's refusals (the one error model: `indigo.errors.DomainError`).

Each names its machine `code`, its translated message and its HTTP status; the API's handler and the pages' error
page show them as they are. A claim refusal and a gone place carry one of several codes, each with its own message.
"""

from django.utils.translation import gettext_lazy as _

from indigo.errors import DomainError, Forbidden, NotFound, RateLimited


class PlacementError(DomainError):
    """Any refusal of the placement rules (a conflict with the current state unless a subclass says otherwise)."""


class PlaceNotWithdrawable(PlacementError, code="not_withdrawable"):
    message = _("This place can no longer be withdrawn: it has been taken, enrolled or withdrawn already.")


class NotYourKindergarten(PlacementError, code="not_your_kindergarten", status=403):
    message = _("You can only act on places of your own kindergarten.")


class NotKindergartenStaff(Forbidden):
    message = _("Only kindergarten staff and department admins may do this.")


class ReleaseAlreadySubmitted(PlacementError, code="already_submitted"):
    message = _("This release was already submitted; nothing more was released.")


class IdempotencyKeyReused(PlacementError, code="idempotency_key_reused", status=422):
    message = _("This Idempotency-Key was already used for another request; use a new key for a new request.")


class AlreadyInQueue(PlacementError, code="already_in_queue"):
    message = _("This child already has an active application in this city.")


class CohortNotServed(PlacementError, code="cohort_not_served", status=400):
    """DOMAIN.md, Queue: the city has no group of the child's cohort, or the child's age is outside its range."""

    message = _("This city does not place children of this birth year.")

    def __init__(self, *, birth_year: int, served: list[int]):
        if served:
            message = _(
                "This city does not place children born in %(year)s. It places children born in: %(served)s."
            ) % {"year": birth_year, "served": ", ".join(str(year) for year in served)}
        else:
            message = _("This city does not place children born in %(year)s, nor any birth year yet.") % {
                "year": birth_year
            }
        super().__init__(message)


class ApplicationNotWithdrawable(PlacementError, code="application_not_withdrawable"):
    message = _("Only an application that is in the queue can be withdrawn.")


class NotYourChild(Forbidden, code="not_your_child"):
    message = _("No such child among yours.")


class NotYourApplication(Forbidden, code="not_your_application"):
    message = _("No such application among yours.")


class NoSuchKindergarten(NotFound):
    message = _("No such kindergarten.")


class NoSuchPlace(NotFound):
    message = _("There is no such place.")


class NoSuchChild(NotFound):
    message = _("No such child among yours.")


class NoSuchApplication(NotFound):
    message = _("No such application among yours.")


class NoSuchReferral(NotFound):
    message = _("No such referral among yours.")


class ProtocolMissing(NotFound):
    """No published protocol by that name; the message says what is missing, `city` is the city if it exists."""

    def __init__(self, message, *, city=None):
        self.city = city
        super().__init__(message)


class ReferralNotLive(PlacementError, code="referral_not_live"):
    message = _("This referral is no longer valid.")


class NotReferralHolder(PlacementError, code="not_referral_holder", status=403):
    message = _("Only the parent who holds the referral may decline it.")


class ClaimRefused(PlacementError, status=403):
    """This parent may not take this place now (HTTP 403); `code` says why (DOMAIN.md, Places 3-4)."""

    MESSAGES = {
        "blocked": _("Your cabinet is blocked."),
        "not_confirmed": _("Your legal representation of this child is not confirmed yet."),
        "not_in_queue": _("This application is not in the queue."),
        "has_live_referral": _("This child already holds a referral."),
        "city_mismatch": _("The place is in another city than the application."),
        "cohort_mismatch": _("The place is for another birth year."),
        "language_mismatch": _("The place's language of instruction does not match the application."),
        "group_type_mismatch": _("The place's group type does not match the application."),
        "not_head_of_queue": _(
            "The place is in priority access and the application is not at the head of the queue."
        ),
        "offer_mode_priority": _(
            "In this city the 18:00 run offers the places in priority access to the queue by the parents' choices; "
            "they cannot be taken by hand."
        ),
    }
    # not_head_of_queue, when the position is known: where the application stands and until when.
    POSITION_MESSAGE = _(
        "Position %(position)s; %(head)s places of this birth year are in priority access until %(until)s."
    )

    def __init__(self, code: str, message=None):
        super().__init__(message or self.MESSAGES[code], code=code)


class PlaceGone(PlacementError):
    """The place is no longer free (HTTP 409); `code` says what became of it."""

    MESSAGES = {
        "taken": _("Someone has already taken this place."),
        "withdrawn": _("The kindergarten has withdrawn this place."),
        "not_open": _("This place is not open yet."),
        "offered": _("This place is offered to a child of the queue."),
    }

    def __init__(self, code: str):
        super().__init__(self.MESSAGES[code], code=code)


class ClaimRateLimited(RateLimited):
    """Too many claim attempts by one parent in the current window (HTTP 429, `retry_after` seconds)."""

    def __init__(self, retry_after: int):
        super().__init__(
            _("Too many attempts to take a place. Try again in %(seconds)s s.") % {"seconds": retry_after},
            retry_after=retry_after,
        )


class NotSubscribable(PlacementError, code="not_subscribable"):
    message = _("Alerts can be turned on only for an application that is in the queue.")


# --- Offer mode (issue 14; DOMAIN.md, Allocation modes) ------------------------------------------------------


class ChoicesTooMany(PlacementError, code="choices_too_many", status=400):
    def __init__(self, limit: int):
        super().__init__(_("Choose at most %(limit)s kindergartens.") % {"limit": limit})


class ChoiceNotServed(PlacementError, code="choice_not_served", status=400):
    """A chosen kindergarten is of another city or has no group of the application's cohort, language and type."""

    message = _("A chosen kindergarten has no group for this child's birth year, language and group type.")


class ChoiceDuplicate(PlacementError, code="choice_duplicate", status=400):
    message = _("A kindergarten is chosen twice.")


class ChoicesNotEditable(PlacementError, code="choices_not_editable"):
    message = _("Choices can be changed only for an application that is in the queue.")


class NoSuchOffer(NotFound, code="not_your_offer"):
    """An unknown offer and another family's are alike (404)."""

    message = _("No such offer among yours.")


class OfferNotLive(PlacementError, code="offer_not_live"):
    message = _("This offer has already been answered or withdrawn.")


class OfferExpired(PlacementError, code="offer_expired"):
    message = _("The time to answer this offer has passed.")


class ApplicationNotPaused(PlacementError, code="application_not_paused"):
    message = _("This application is not paused.")


class ResumeExpired(PlacementError, code="resume_expired"):
    message = _(
        "A paused application can be resumed by its parent only once and within 28 days; "
        "please contact the education department."
    )


class NotOfferMode(NotFound, code="not_offer_mode"):
    """Choices and offers exist only in a city in offer mode (issue 14): elsewhere there is nothing to show."""

    message = _("This city does not offer places by ranked choices: parents take places from the registry.")
