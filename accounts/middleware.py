"""The language of a parent's SMS follows the language of the pages and API they use (issue 14: notifications in
the parent's language, ru or kk)."""

import logging

from django.db import DatabaseError
from django.utils.functional import empty
from django.utils.translation import get_language_from_path

from .services.notifications import LANGUAGES, user_language_remember

logger = logging.getLogger(__name__)


def chosen_language(request) -> str | None:
    """The language the request chose explicitly: a page's URL prefix (/kk/...), or an API request's
    Accept-Language. None when it chose none (an API client that sends no Accept-Language is not taken for a
    Russian reader)."""
    language = get_language_from_path(request.path_info)
    if language:
        return language
    if request.path_info.startswith("/api/") and request.META.get("HTTP_ACCEPT_LANGUAGE"):
        return getattr(request, "LANGUAGE_CODE", None)
    return None


class SmsLanguageMiddleware:
    """After a parent's request in Russian or Kazakh, their SMS come in that language (English pages change
    nothing: SMS are ru or kk). Costs nothing unless the language changed: the user is only looked at when the
    view already loaded it (a session's user, or the API token's user, which DRF sets on the request), and
    written by one UPDATE when it differs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if getattr(user, "_wrapped", None) is empty:  # a lazy user the view never needed: leave it unloaded
            return response
        if user is not None and user.is_authenticated and getattr(user, "is_parent", False):
            language = chosen_language(request)
            if language in LANGUAGES:
                try:
                    user_language_remember(user=user, language=language)
                except DatabaseError:  # the answer is ready; the language is remembered at the next request
                    logger.warning("could not remember the SMS language of user %s", user.pk, exc_info=True)
        return response
