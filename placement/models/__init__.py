from .kindergartens import City, Group, GroupType, Kindergarten, Language
from .places import Access, Place, PlaceEvent
from .protocols import Protocol
from .queue import Application

__all__ = [
    "Access",
    "Application",
    "City",
    "Group",
    "GroupType",
    "Kindergarten",
    "Language",
    "Place",
    "PlaceEvent",
    "Protocol",
]
