"""Telling a parent about a decision on their case by SMS (issue 4: the reason of a rejection is sent to the parent).

We do not know which language a parent reads, so a decision's SMS carries the Russian and the Kazakh text, one
after the other. A notification never fails the decision it reports: the decision is already made and audited;
an SMS that cannot be delivered is logged and audited, and the caller carries on.
"""

import logging

from django.utils import translation
from django.utils.translation import gettext_lazy

from .audit import audit_record

logger = logging.getLogger(__name__)

# The two languages of every decision SMS, in this order.
SMS_LANGUAGES = ("ru", "kk")

REPRESENTATION_CONFIRMED = gettext_lazy("INDIGO: your legal representation of the child %(child)s is confirmed.")
REPRESENTATION_REJECTED = gettext_lazy("INDIGO: your legal representation of the child %(child)s is rejected.")
PRIVILEGE_CONFIRMED = gettext_lazy("INDIGO: the privilege of application %(number)s is confirmed.")
PRIVILEGE_REJECTED = gettext_lazy("INDIGO: the privilege of application %(number)s is rejected.")
REASON = gettext_lazy("Reason")


def bilingual(message, *, reason: str = "", **params) -> str:
    """The message in Russian, then in Kazakh; the reason (typed by an admin in one language) once, at the end."""
    parts = []
    reason_labels = []
    for language in SMS_LANGUAGES:
        with translation.override(language):
            parts.append(str(message) % params)
            reason_labels.append(str(REASON))
    text = " / ".join(parts)
    reason = (reason or "").strip()
    if reason:
        text += f" {' / '.join(reason_labels)}: {reason}"
    return text


def parent_notify(*, user, text: str) -> bool:
    """Send `text` by SMS to the user's login phone. True when handed to the SMS backend; False when the user has
    no phone or the delivery failed (logged and audited as `sms.failed`). Never raises."""
    from accounts.sms import mask_phone, sms_send

    phone = getattr(user, "phone", None)
    if not phone:
        logger.info("no SMS for user %s: no phone", getattr(user, "pk", None))
        return False
    try:
        sms_send(phone=phone, text=text)
    except Exception as exc:  # any backend failure stays out of the caller's decision
        logger.warning("SMS to %s not delivered: %s", mask_phone(phone), exc)
        try:
            audit_record(actor=None, action="sms.failed", target=user, phone=mask_phone(phone), error=str(exc)[:200])
        except Exception:  # the audit failing too must not undo the decision
            logger.exception("could not audit the failed SMS to %s", mask_phone(phone))
        return False
    return True


def representation_decision_notify(*, representation) -> bool:
    """SMS to the parent: their representation of the child was confirmed or rejected (with the reason)."""
    confirmed = representation.status == "confirmed"
    text = bilingual(
        REPRESENTATION_CONFIRMED if confirmed else REPRESENTATION_REJECTED,
        reason="" if confirmed else representation.decision_reason,
        child=str(representation.child),
    )
    return parent_notify(user=representation.parent, text=text)


def privilege_decision_notify(*, application) -> bool:
    """SMS to the applicant: the privilege of their application was confirmed or rejected (with the reason)."""
    confirmed = application.privilege_status == "confirmed"
    text = bilingual(
        PRIVILEGE_CONFIRMED if confirmed else PRIVILEGE_REJECTED,
        reason="" if confirmed else application.privilege_reason,
        number=application.number,
    )
    return parent_notify(user=application.parent, text=text)
