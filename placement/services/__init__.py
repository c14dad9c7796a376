from .daily import run_daily
from .errors import PlacementError, PlaceNotWithdrawable
from .places import place_release, place_withdraw
from .protocols import protocol_digest, protocols_verify

__all__ = [
    "PlaceNotWithdrawable",
    "PlacementError",
    "place_release",
    "place_withdraw",
    "protocol_digest",
    "protocols_verify",
    "run_daily",
]
