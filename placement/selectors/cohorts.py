"""Which cohorts a city serves (DOMAIN.md, Queue): the birth years it has groups for, within its age range (a city
setting, 1-6 years by default) at the campaign start. Parents queue a child from birth, so only a child older than
the range at this year's campaign start is refused for its age; a younger one waits for a later campaign."""

import datetime as dt

from django.db.models import Exists, OuterRef, QuerySet

from schedules.calendar import astana
from schedules.models import SummerSchedule

from ..errors import CohortNotServed
from ..models import Application, City, Group

# Without a summer schedule for the year, the age is taken on the day summer placement usually starts.
DEFAULT_CAMPAIGN_START = (6, 1)


def campaign_start_for(*, city: City, year: int) -> dt.date:
    """The start of the city's campaign of `year` (its summer schedule), else 1 June of that year."""
    start = SummerSchedule.objects.filter(city=city, year=year).values_list("campaign_start", flat=True).first()
    return start or dt.date(year, *DEFAULT_CAMPAIGN_START)


def age_on(*, birth_date: dt.date, day: dt.date) -> int:
    """Full years of age on `day`."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def cohorts_served(*, city: City, at: dt.datetime) -> list[int]:
    """The birth years this year's campaign places: the city has groups for them and their children are within its
    age range at the campaign start (what a refusal names)."""
    start = campaign_start_for(city=city, year=astana(at).date().year)
    oldest, youngest = start.year - city.max_age_years - 1, start.year - city.min_age_years
    years = Group.objects.filter(kindergarten__city=city, birth_year__gte=oldest, birth_year__lte=youngest)
    return sorted(set(years.values_list("birth_year", flat=True)))


def cohort_refusal(*, city: City, birth_date: dt.date, at: dt.datetime) -> CohortNotServed | None:
    """The refusal of an application for a child born on `birth_date` (DOMAIN.md, Queue), or None when the city
    serves the child: it has a group of the child's birth year, and the child is not older than the city's range at
    the start of this year's campaign. A child younger than the range is queued for a later campaign (parents queue
    a child from birth): its cohort's groups say the city will place it."""
    start = campaign_start_for(city=city, year=astana(at).date().year)
    has_group = Group.objects.filter(kindergarten__city=city, birth_year=birth_date.year).exists()
    if has_group and age_on(birth_date=birth_date, day=start) <= city.max_age_years:
        return None
    return CohortNotServed(birth_year=birth_date.year, served=cohorts_served(city=city, at=at))


def applications_of_unserved_cohorts(applications: QuerySet[Application]) -> QuerySet[Application]:
    """Applications for a birth year no group of their city takes (queued before the rule, or since the groups
    changed): the admin's list of them. The age range is not checked here: it depends on each child's birthday."""
    group = Group.objects.filter(kindergarten__city=OuterRef("city"), birth_year=OuterRef("birth_year"))
    return applications.filter(~Exists(group))
