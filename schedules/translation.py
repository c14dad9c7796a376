from modeltranslation.translator import TranslationOptions, register

from .models import KindergartenShift, SummerSchedule


@register(SummerSchedule)
class SummerScheduleTranslation(TranslationOptions):
    fields = ("note",)


@register(KindergartenShift)
class KindergartenShiftTranslation(TranslationOptions):
    fields = ("reason",)
