from modeltranslation.translator import TranslationOptions, register

from .models import City, Group, Kindergarten


@register(City)
class CityTranslation(TranslationOptions):
    fields = ("name",)


@register(Kindergarten)
class KindergartenTranslation(TranslationOptions):
    fields = ("name", "address", "district")


@register(Group)
class GroupTranslation(TranslationOptions):
    fields = ("name",)
