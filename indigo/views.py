from django.views.generic import TemplateView


class HomeView(TemplateView):
    template_name = "home.html"


def not_found(request, exception=None):
    """404: JSON under /api/ (a path parameter the URL refuses still gets the API's shape), the page elsewhere."""
    from django.http import JsonResponse
    from django.utils.translation import gettext
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse({"reason": "not_found", "detail": gettext("Not found.")}, status=404)
    return page_not_found(request, exception)
