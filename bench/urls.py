"""The project's URLs plus `/bench/trivial/`: a JSON view doing no work, the floor of the same stack (gunicorn,
the project's middleware, Django's request and response). Bench-only: the app never routes it."""

from django.http import JsonResponse
from django.urls import path

from indigo.urls import urlpatterns as project_urlpatterns


def trivial(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/trivial/", trivial), *project_urlpatterns]
