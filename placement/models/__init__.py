from .kindergartens import City, Group, GroupType, Kindergarten, Language
from .offers import RESUME_DAYS, AllocationRun, Offer
from .places import Access, Place, PlaceEvent, ReleaseSubmission, ReturnReason, reason_label
from .protocols import Protocol
from .queue import Application, ApplicationChoice
from .referrals import Contract, Referral
from .subscriptions import GeneralAccessSubscription

__all__ = [
    "RESUME_DAYS",
    "Access",
    "AllocationRun",
    "Application",
    "ApplicationChoice",
    "City",
    "Contract",
    "GeneralAccessSubscription",
    "Group",
    "GroupType",
    "Kindergarten",
    "Language",
    "Offer",
    "Place",
    "PlaceEvent",
    "Protocol",
    "Referral",
    "ReleaseSubmission",
    "ReturnReason",
    "reason_label",
]
