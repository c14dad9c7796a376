from .kindergartens import City, Group, GroupType, Kindergarten, Language
from .places import Access, Place, PlaceEvent
from .protocols import Protocol

__all__ = ["Access", "City", "Group", "GroupType", "Kindergarten", "Language", "Place", "PlaceEvent", "Protocol"]
