"""Which cohorts a city serves (DOMAIN.md, Queue): the birth years it has groups for, within its age range (a city
setting, 1-6 years by default) at the campaign start."""

import datetime as dt

from django.db.models import Exists, OuterRef, QuerySet

from schedules.calendar import astana
from schedules.models import SummerSchedule

from ..errors import CohortNotServed
from ..models import Application, City, Group

# Without a summer schedule for the year, the age is taken on the day summer placement usually starts.
DEFAULT_CAMPAIGN_START = (6, 1)


def campaign_start_for(*, city: City, at: dt.datetime) -> dt.date:
    """The start of the city's campaign of the year of `at` (its summer schedule), else 1 June of that year."""
    year = astana(at).date().year
    start = SummerSchedule.objects.filter(city=city, year=year).values_list("campaign_start", flat=True).first()
    return start or dt.date(year, *DEFAULT_CAMPAIGN_START)


def age_on(*, birth_date: dt.date, day: dt.date) -> int:
    """Full years of age on `day`."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def cohorts_served(*, city: City, at: dt.datetime) -> list[int]:
    """The birth years the city has groups for whose children can be within its age range at the campaign start."""
    start = campaign_start_for(city=city, at=at)
    oldest, youngest = start.year - city.max_age_years - 1, start.year - city.min_age_years
    years = Group.objects.filter(kindergarten__city=city, birth_year__gte=oldest, birth_year__lte=youngest)
    return sorted(set(years.values_list("birth_year", flat=True)))


def cohort_refusal(*, city: City, birth_date: dt.date, at: dt.datetime) -> CohortNotServed | None:
    """The refusal of an application for a child born on `birth_date` (DOMAIN.md, Queue), or None when the city
    serves the child's cohort and age: it has a group of the birth year, and the child's age at the campaign start
    is within the city's range."""
    served = cohorts_served(city=city, at=at)
    age = age_on(birth_date=birth_date, day=campaign_start_for(city=city, at=at))
    if birth_date.year in served and city.min_age_years <= age <= city.max_age_years:
        return None
    return CohortNotServed(birth_year=birth_date.year, served=served)


def applications_of_unserved_cohorts(applications: QuerySet[Application]) -> QuerySet[Application]:
    """Applications for a birth year no group of their city takes (queued before the rule, or since the groups
    changed): the admin's list of them. The age range is not checked here: it depends on each child's birthday."""
    group = Group.objects.filter(kindergarten__city=OuterRef("city"), birth_year=OuterRef("birth_year"))
    return applications.filter(~Exists(group))
