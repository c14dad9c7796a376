"""INDIGO settings: one module, driven by environment variables.

With no variable set the project runs on the *embedded default*: SQLite under ``var/``, a Celery broker on
the file system (kombu's ``filesystem://`` transport, which a real worker and beat can use) and DEBUG on.
Setting ``DATABASE_URL``, ``REDIS_URL``, ``SECRET_KEY``, ``ALLOWED_HOSTS`` and ``DEBUG=0`` gives production.
Every setting below is the same code path in both modes; only the values differ.
"""

import ipaddress
import secrets
import zoneinfo
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

# Kazakhstan moved to UTC+5 on 2024-03-01: use the pinned `tzdata` package, never an older system copy.
zoneinfo.reset_tzpath(to=())

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("INDIGO_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)


def _dev_secret_key() -> str:
    """A secret generated once per checkout, so a newcomer needs no configuration (never used with DEBUG=0)."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(64))
    return path.read_text().strip()


if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="") or _dev_secret_key()
else:
    SECRET_KEY = env.str("SECRET_KEY")  # production refuses to start without one

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # modeltranslation must come before the admin so that its tabs apply there.
    "modeltranslation",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "schedules",
    "placement",
]

MIDDLEWARE = [
    # First, so that the latency it observes is the whole stack's (indigo/metrics.py).
    "indigo.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "indigo.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who acts in what a request's saves set off through signals (the re-timing of an admin's calendar edit).
    "indigo.middleware.ActorMiddleware",
    # A parent's SMS follow the language of the pages and API they use (ru or kk).
    "accounts.middleware.SmsLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A page view's refusal (indigo.errors.DomainError) becomes its translated page (indigo.pages).
    "indigo.pages.DomainErrorMiddleware",
    # A page's empty 405 becomes the translated error page (indigo.pages).
    "indigo.pages.MethodNotAllowedPageMiddleware",
    # Last, so that a view's lost database connection becomes a clean 503 before anything else sees it.
    "indigo.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "indigo.urls"
WSGI_APPLICATION = "indigo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "indigo.context_processors.portal",
            ],
            # One table (and its pagination) for every list, cards below 640 px (indigo/tables.py).
            "libraries": {"tables": "indigo.tables"},
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# A connection that a database restart broke is noticed when the next request starts and replaced, not reused.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file: wait for locks instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20})
    # A file, not memory, so that a worker process started by a test sees the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery -----------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    # Tolerant of a Redis outage: a miss for reads, a no-op for writes, short timeouts (indigo/cache.py).
    CACHES = {"default": {"BACKEND": "indigo.cache.TolerantRedisCache", "LOCATION": REDIS_URL}}
else:
    # A file cache is shared by the web, worker and beat processes of the embedded default.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_RESULT_BACKEND = env.str(
    "CELERY_RESULT_BACKEND", default=REDIS_URL or f"file://{(VAR_DIR / 'celery' / 'results').as_posix()}"
)
_celery_queue_dir = (VAR_DIR / "celery" / "queue").as_posix()
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": _celery_queue_dir,
        "data_folder_out": _celery_queue_dir,
        "processed_folder": (VAR_DIR / "celery" / "processed").as_posix(),
        "control_folder": (VAR_DIR / "celery" / "control").as_posix(),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    # Redis: a message taken by a worker that dies before acknowledging it (acks_late) goes back to its queue
    # this many seconds after delivery. Short enough that a killed 18:00 run is redone within minutes, far
    # longer than the run takes (11 s national, docs/PERFORMANCE.md); a run outliving it is delivered twice,
    # which is harmless because the run is idempotent under the city lock. No task uses an ETA or countdown.
    # Workers look for such messages every 10 s (kombu's default looks only every tenth time: 100 s).
    else {
        "visibility_timeout": env.int("INDIGO_BROKER_VISIBILITY_TIMEOUT", default=600),
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 1,
        "socket_connect_timeout": 5,
    }
)
if CELERY_BROKER_URL.startswith("filesystem"):
    for _folder in ("queue", "processed", "control", "results"):
        (VAR_DIR / "celery" / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TIMEZONE = "Asia/Almaty"
CELERY_ENABLE_UTC = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A producer (beat, a command) keeps trying while the broker is down: 0, 2, 4 ... 30 s apart, about six minutes
# in all, each attempt logged (indigo.celery.IndigoTask); then the send fails with an error in the log, and the
# periodic catch-up of the run (INDIGO_BEAT_CATCHUP_SECONDS) publishes the missed day once the broker is back.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": env.int("INDIGO_PUBLISH_MAX_RETRIES", default=20),
    "interval_start": 0,
    "interval_step": 2,
    "interval_max": 30,
}
# Beat sends the idempotent catch-up of the 18:00 run this often, besides 18:00 itself (indigo/celery.py).
INDIGO_BEAT_CATCHUP_SECONDS = env.float("INDIGO_BEAT_CATCHUP_SECONDS", default=900)

# --- Auth -----------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# --- Internationalisation -------------------------------------------------------------------------------
LANGUAGE_CODE = "ru"
LANGUAGES = [
    ("ru", _("Russian")),
    ("kk", _("Kazakh")),
    ("en", _("English")),
]
# The project's own catalog first, then its translations of Django's, DRF's and the admin's strings that
# their Kazakh catalogs lack (locale/contrib).
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale" / "contrib"]
USE_I18N = True
FORMAT_MODULE_PATH = ["indigo.formats"]
# Business time is Astana time (UTC+5 since 2024-03-01); stored in UTC, shown in Asia/Almaty.
TIME_ZONE = "Asia/Almaty"
USE_TZ = True
MODELTRANSLATION_DEFAULT_LANGUAGE = "ru"
MODELTRANSLATION_LANGUAGES = ("ru", "kk", "en")
MODELTRANSLATION_FALLBACK_LANGUAGES = ("ru", "kk")
# The admin's translation tabs need jQuery UI: served from static/vendor (MIT), never from a CDN.
JQUERY_UI_URL = "vendor/jquery-ui/jquery-ui.min.js"

# --- Static files ---------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- REST framework -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.auth.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "EXCEPTION_HANDLER": "indigo.api.exception_handler",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "INDIGO API",
    "DESCRIPTION": "Electronic kindergarten placement: free places, release protocol, queue, referrals.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The browsable docs are served by the project itself, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "PlaceEventKindEnum": "placement.models.places.PlaceEvent.Kind",
        "InstructionLanguageEnum": "placement.models.kindergartens.Language",
        "ApplicationLanguageEnum": "placement.models.queue.Application.Language",
        "ApplicationStatusEnum": "placement.models.queue.Application.Status",
        "PrivilegeStatusEnum": "placement.models.queue.Application.PrivilegeStatus",
        "ApplicationPrivilegeEnum": "placement.models.queue.Application.Privilege",
        "RepresentationKindEnum": "accounts.models.Representation.Kind",
        "RepresentationStatusEnum": "accounts.models.Representation.Status",
        "ReferralStatusEnum": "placement.models.referrals.Referral.Status",
        "ContractStatusEnum": "placement.models.referrals.Contract.Status",
    },
}

# --- Security -------------------------------------------------------------------------------------------
# Secure by default whenever DEBUG is off; each value can still be relaxed explicitly by its variable.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
# /metrics too, so that a scraper inside the network reads it without TLS; strangers are answered as on any path.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Logging --------------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- SMS (parents log in with a one-time code) ----------------------------------------------------------
# ConsoleBackend prints the code (the embedded default), FileBackend appends to var/sms.log, LocmemBackend
# keeps messages in accounts.sms.outbox (tests), HttpGatewayBackend posts to the operator's gateway.
SMS_BACKEND = env.str("SMS_BACKEND", default="accounts.sms.ConsoleBackend")
SMS_FILE_PATH = env.str("SMS_FILE_PATH", default=str(VAR_DIR / "sms.log"))
SMS_GATEWAY_URL = env.str("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_TOKEN = env.str("SMS_GATEWAY_TOKEN", default="")
SMS_GATEWAY_SENDER = env.str("SMS_GATEWAY_SENDER", default="INDIGO")
SMS_GATEWAY_TIMEOUT = env.float("SMS_GATEWAY_TIMEOUT", default=5.0)
# Notifications to parents (issue 14; accounts.services.notifications, docs/SMS.md): a gateway failure is retried
# after NOTIFICATION_RETRY_SECONDS x 2^(attempt-1) (at most NOTIFICATION_RETRY_MAX_SECONDS), and the SMS is marked
# failed after NOTIFICATION_MAX_ATTEMPTS; a row a lost worker left "sending" is marked failed after
# NOTIFICATION_SENDING_TIMEOUT_SECONDS (never sent twice). Beat sweeps what is due every NOTIFICATIONS_SWEEP_SECONDS.
# NOTIFICATIONS_QUEUE: a Celery queue of their own (workers then need -Q celery,<it>); empty: the default queue.
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=5)
NOTIFICATION_RETRY_SECONDS = env.float("NOTIFICATION_RETRY_SECONDS", default=60.0)
NOTIFICATION_RETRY_MAX_SECONDS = env.float("NOTIFICATION_RETRY_MAX_SECONDS", default=3600.0)
NOTIFICATION_SENDING_TIMEOUT_SECONDS = env.float("NOTIFICATION_SENDING_TIMEOUT_SECONDS", default=600.0)
NOTIFICATIONS_SWEEP_SECONDS = env.float("NOTIFICATIONS_SWEEP_SECONDS", default=60.0)
NOTIFICATIONS_QUEUE = env.str("NOTIFICATIONS_QUEUE", default="")
OTP_TTL_SECONDS = 300
OTP_MAX_ATTEMPTS = 5
OTP_REQUESTS_PER_PHONE_PER_HOUR = env.int("OTP_REQUESTS_PER_PHONE_PER_HOUR", default=5)
OTP_REQUESTS_PER_IP_PER_HOUR = env.int("OTP_REQUESTS_PER_IP_PER_HOUR", default=30)
# Our own reverse proxies / load balancers (addresses or networks, comma-separated). A request from one of them is
# counted against the client address it appends to X-Forwarded-For (accounts.services.sessions.request_ip);
# without them REMOTE_ADDR is the client, and behind a proxy every parent would share one per-IP limit.
INDIGO_TRUSTED_PROXIES = env.list("INDIGO_TRUSTED_PROXIES", default=[])
# Password logins (staff, admins, the Django admin): this many failures for one username from one address, for one
# username from all addresses together (USERNAME), or from one address for any username (IP),
# within the window lock it for LOGIN_LOCKOUT_SECONDS after the last failure (accounts.services.lockout).
LOGIN_LOCKOUT_FAILURES = env.int("LOGIN_LOCKOUT_FAILURES", default=5)
LOGIN_LOCKOUT_IP_FAILURES = env.int("LOGIN_LOCKOUT_IP_FAILURES", default=20)
LOGIN_LOCKOUT_USERNAME_FAILURES = env.int("LOGIN_LOCKOUT_USERNAME_FAILURES", default=50)
LOGIN_LOCKOUT_WINDOW_SECONDS = env.int("LOGIN_LOCKOUT_WINDOW_SECONDS", default=900)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=900)
# Claim attempts per parent and minute (a fixed window in the cache; 0 turns the limit off). An honest parent
# in a storm makes a few (each 409 sends them to another place); see placement.services.claims.
CLAIM_ATTEMPTS_PER_MINUTE = env.int("CLAIM_ATTEMPTS_PER_MINUTE", default=20)

# --- Metrics (issue 15; indigo/metrics.py, docs/OPERATIONS.md) ---------------------------------------------
# /metrics answers these addresses or networks when they reach the portal directly (not through an untrusted
# proxy), and any request carrying "Authorization: Bearer <INDIGO_METRICS_TOKEN>" (empty: no token accepted);
# everyone else gets a 404. A malformed network stops the start-up here rather than refusing every scrape.
INDIGO_METRICS_ALLOWED = [
    str(ipaddress.ip_network(network, strict=False))
    for network in env.list("INDIGO_METRICS_ALLOWED", default=["127.0.0.1/32", "::1/128"])
]
INDIGO_METRICS_TOKEN = env.str("INDIGO_METRICS_TOKEN", default="")

# --- Portal ---------------------------------------------------------------------------------------------
# In CI a missing PostgreSQL, Redis or browser must fail the run rather than skip the test.
INDIGO_REQUIRE_SERVICES = env.bool("INDIGO_REQUIRE_SERVICES", default=False)
SUPPORT_PHONE = env.str("SUPPORT_PHONE", default="")
