from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.views import AdminPasswordLoginForm, admin_login_with_lockout

from . import health, metrics
from .views import HomeView, favicon

# Machine endpoints: no language prefix (the API follows Accept-Language).
urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("favicon.ico", favicon, name="favicon"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("indigo.api_urls")),
]

# The admin is the portal's too: its name, not Django's, in the header and the window title.
admin.site.site_header = admin.site.site_title = "INDIGO"

# The admin's login is a password login like the staff page: the same lockout and refusals (accounts.views).
admin.site.login_form = AdminPasswordLoginForm
admin.site.login = admin_login_with_lockout(admin.site.login)

# Pages: /ru/..., /kk/..., /en/...
urlpatterns += i18n_patterns(
    path("", HomeView.as_view(), name="home"),
    path("accounts/", include("accounts.urls")),
    path("schedule/", include("schedules.urls")),
    path("", include("placement.urls")),
    path("admin/", admin.site.urls),
    prefix_default_language=True,
)

handler403 = "indigo.pages.forbidden"
handler404 = "indigo.views.not_found"
handler500 = "indigo.views.server_error"
