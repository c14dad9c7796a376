"""bench/offers_run.py at small scale: correctness, never speed (docs/PERFORMANCE.md, Offer mode's allocation)."""

import datetime as dt

from django.db import connection

from bench.offers_run import floor_city
from placement.models import Application, ApplicationChoice, City, Group, Offer
from placement.services.allocation_checks import allocations_verify
from placement.services.daily import run_daily
from placement.services.scale_data import scale_choices_create, scale_data_generate, scale_places_release
from schedules.calendar import PROTOCOL_MOMENT, at_astana

DAY = dt.date(2025, 3, 14)  # a Friday


def test_the_offer_bench_floor_and_the_run_make_the_same_offers_and_they_verify(postgres):
    summary = scale_data_generate(
        cities=2, kindergartens=16, applications=600, places=0, seed=5, at=at_astana(DAY, dt.time(8))
    )
    City.objects.update(allocation_mode=City.AllocationMode.OFFER)
    written = scale_choices_create(cities=summary.cities, choices=5, seed=5)
    groups = list(Group.objects.values_list("pk", flat=True))
    scale_places_release(group_ids=groups, count=80, moments=[at_astana(DAY, dt.time(h)) for h in range(9, 18)], seed=5)
    queued = Application.objects.filter(status="queued")
    assert written == ApplicationChoice.objects.count() and 0 < written <= 5 * queued.count()
    assert queued.filter(any_other=True).exists() and queued.filter(any_other=False).exists()
    cutoff = at_astana(DAY, PROTOCOL_MOMENT)
    with connection.cursor() as cursor:
        floor = sum(
            floor_city(cursor.cursor, city_id=city.pk, cutoff=cutoff, ratio=city.queue_general_per_priority)
            for city in summary.cities
        )
    run_daily(at=cutoff)
    assert floor == Offer.objects.count() > 0
    checks = allocations_verify()
    assert [check.problem for check in checks] == [None, None]
    assert [check.envy for check in checks] == [0, 0]
