from .kindergartens import City, Group, GroupType, Kindergarten, Language
from .places import Access, Place, PlaceEvent, ReleaseSubmission
from .protocols import Protocol
from .queue import Application
from .referrals import Contract, Referral
from .subscriptions import GeneralAccessSubscription

__all__ = [
    "Access",
    "Application",
    "City",
    "Contract",
    "GeneralAccessSubscription",
    "Group",
    "GroupType",
    "Kindergarten",
    "Language",
    "Place",
    "PlaceEvent",
    "Protocol",
    "Referral",
    "ReleaseSubmission",
]
