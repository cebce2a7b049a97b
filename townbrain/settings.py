"""TownBrain settings: one module, every knob from the environment.

TOWNBRAIN_HOME          folder for the SQLite database, uploads and logs (default ./var)
TOWNBRAIN_DEBUG         1 (default, development) or 0 (production)
TOWNBRAIN_SECRET_KEY    required when TOWNBRAIN_DEBUG=0
TOWNBRAIN_ALLOWED_HOSTS comma-separated host names (default 127.0.0.1,localhost)
TOWNBRAIN_DATABASE_URL  e.g. postgres://postgres@127.0.0.1:5432/townbrain (default: SQLite in TOWNBRAIN_HOME)
TOWNBRAIN_LOCKOUT_FAILURES   failed logins before lockout (default 5)
TOWNBRAIN_LOCKOUT_MINUTES    lockout length in minutes (default 15)
TOWNBRAIN_REPORT_DEADLINE_DAY  day of the next month a monthly report is due (default 5)
TOWNBRAIN_IMPORT_MAX_MB / _MAX_ROWS / _MAX_UNZIPPED_MB  import limits (50 MB, 200,000 rows, 500 MB)
TOWNBRAIN_EVIDENCE_MAX_MB  largest acceptance evidence upload (default 20)
TOWNBRAIN_RATE_TOKEN_PER_MINUTE / _PUBLIC_REPORTS_PER_HOUR / _OPEN311_PER_HOUR / _INGEST_PER_MINUTE
                        rate limits (20, 5, 60, 600; 0 = off; docs/security.md)
TOWNBRAIN_SESSION_HOURS hours a login lasts (default 12); TOWNBRAIN_SESSION_BROWSER_CLOSE=1 also ends it
                        when the browser closes
TOWNBRAIN_PERSONAL_DATA_RETENTION_DAYS  days after closing an event keeps its reporter's contact (default 365)
TOWNBRAIN_DATABASE_REPLICA_URLS  comma-separated PostgreSQL replicas (streaming, read-only): read-only
                        requests read them (core/dbrouter.py; docs/operations.md "Replicas and several app servers")
TOWNBRAIN_REPLICA_PIN_SECONDS  seconds a client reads the primary after its own write (default 5)
TOWNBRAIN_REPLICA_CONNECT_TIMEOUT / _RETRY_SECONDS  a replica that does not connect within this many seconds
                        (default 1) is skipped for _RETRY_SECONDS (default 10): its reads go to the primary
TOWNBRAIN_REDIS_URL     e.g. redis://127.0.0.1:6379/0: the cache (rate limits, replica pins) and the sessions'
                        cache in Redis, shared by every app server (default: each process's own memory)
TOWNBRAIN_MEDIA_ROOT    folder of the uploads (default TOWNBRAIN_HOME/uploads): shared storage when several app
                        servers run
TOWNBRAIN_JOB_THRESHOLD_ROWS  an import with more rows than this runs as a background job (default 5000;
                        docs/jobs.md); smaller ones answer at once
TOWNBRAIN_JOB_THRESHOLD_TOWNS an assessment run scoring more towns than this (a province's), and the briefing
                        of an area holding more towns than this, run as jobs (default 200)
TOWNBRAIN_JOB_STALE_SECONDS   a running job without a heartbeat for this long is shown as failed
                        ("the worker stopped") and may be retried (default 30)
"""

import os
from pathlib import Path

import dj_database_url
from csp import constants as csp_constants
from django.core.exceptions import ImproperlyConfigured


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


BASE_DIR = Path(__file__).resolve().parent
HOME = Path(os.environ.get("TOWNBRAIN_HOME", "var")).resolve()

DEBUG = env_bool("TOWNBRAIN_DEBUG", True)

SECRET_KEY = os.environ.get("TOWNBRAIN_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("TOWNBRAIN_SECRET_KEY must be set when TOWNBRAIN_DEBUG=0")
    SECRET_KEY = "townbrain-development-only-key-never-use-in-production-0123456789"

ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("TOWNBRAIN_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()
]
if DEBUG:
    ALLOWED_HOSTS += ["testserver"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "townbrain.core",
    "townbrain.access",
    "townbrain.programmes",
    "townbrain.projects",
    "townbrain.indicators",
    "townbrain.reporting",
    "townbrain.experts",
    "townbrain.assessments",
    "townbrain.exchange",
    "townbrain.acceptance",
    "townbrain.investment",
    "townbrain.publicity",
    "townbrain.sensing",
    "townbrain.governance",
    "townbrain.clusters",
    "townbrain.workplans",
    "townbrain.cockpit",
    "townbrain.reports",
    "django_tasks",
    "django_tasks_db",
    "townbrain.jobs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Read-only requests may read a replica; a client's write pins it to the primary (core/dbrouter.py).
    "townbrain.core.dbrouter.ReplicaMiddleware",
    # The Content-Security-Policy header on every response (docs/security.md); static files skip it.
    "townbrain.core.csp.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "townbrain.core.middleware.RequestContextMiddleware",
    # Axes last, as its documentation asks: it turns lockouts into responses.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "townbrain.urls"
WSGI_APPLICATION = "townbrain.wsgi.application"

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
                "townbrain.core.context_processors.navigation",
                "townbrain.governance.context_processors.bell",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("TOWNBRAIN_DATABASE_URL", "").strip()
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    HOME.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": HOME / "townbrain.sqlite3",
            # WAL lets the dashboard read while an import writes. Writers (several gunicorn workers) queue:
            # a transaction takes the write lock when it begins (IMMEDIATE) and waits up to 20 s for it —
            # a deferred one that must upgrade its read lock fails at once with "database is locked".
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                        "transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    }
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TOWNBRAIN_TEST_DATABASE_NAME") or None}

# Read replicas (core/dbrouter.py): aliases replica_1, replica_2 …; the test runner mirrors them onto the
# test database, and the router never reads a replica that is the primary's own database.
DATABASE_REPLICAS = []
for _url in filter(None, (u.strip() for u in os.environ.get("TOWNBRAIN_DATABASE_REPLICA_URLS", "").split(","))):
    _replica = dj_database_url.parse(_url, conn_max_age=60)
    if _replica["ENGINE"] == "django.db.backends.postgresql":
        _replica.setdefault("OPTIONS", {})["connect_timeout"] = env_int("TOWNBRAIN_REPLICA_CONNECT_TIMEOUT", 1)
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASE_REPLICAS.append(f"replica_{len(DATABASE_REPLICAS) + 1}")
    DATABASES[DATABASE_REPLICAS[-1]] = _replica
DATABASE_ROUTERS = ["townbrain.core.dbrouter.ReplicaRouter"]
REPLICA_PIN_SECONDS = env_int("TOWNBRAIN_REPLICA_PIN_SECONDS", 5)
REPLICA_RETRY_SECONDS = env_int("TOWNBRAIN_REPLICA_RETRY_SECONDS", 10)

# A shared cache for several app servers: rate limits, replica pins and sessions hold across them.
REDIS_URL = os.environ.get("TOWNBRAIN_REDIS_URL", "").strip()
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": "townbrain"}}
    # Sessions read from Redis, written to both: a flushed cache logs nobody out.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login lockout: per user name and, separately, per IP address.
AXES_FAILURE_LIMIT = env_int("TOWNBRAIN_LOCKOUT_FAILURES", 5)
AXES_COOLOFF_TIME = env_int("TOWNBRAIN_LOCKOUT_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "townbrain.access.views.locked_out"
AXES_VERBOSE = False

# Imports: upload size, rows per file, and how far an xlsx/ods may unpack (zip bombs).
IMPORT_MAX_BYTES = env_int("TOWNBRAIN_IMPORT_MAX_MB", 50) * 1024 * 1024
IMPORT_MAX_ROWS = env_int("TOWNBRAIN_IMPORT_MAX_ROWS", 200_000)
IMPORT_MAX_UNZIPPED_BYTES = env_int("TOWNBRAIN_IMPORT_MAX_UNZIPPED_MB", 500) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Background jobs (docs/jobs.md): django-tasks with its database backend (django-tasks-db), run by
# `townbrain worker`; no other server needed.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
JOB_THRESHOLD_ROWS = env_int("TOWNBRAIN_JOB_THRESHOLD_ROWS", 5000)
JOB_THRESHOLD_TOWNS = env_int("TOWNBRAIN_JOB_THRESHOLD_TOWNS", 200)
JOB_STALE_SECONDS = env_int("TOWNBRAIN_JOB_STALE_SECONDS", 30)

# Monthly reports for month M are due on this day of month M+1 (missed ones become warnings).
REPORT_DEADLINE_DAY = env_int("TOWNBRAIN_REPORT_DEADLINE_DAY", 5)

# Evidence uploads of acceptances (省级验收佐证材料): the largest file accepted.
EVIDENCE_MAX_BYTES = env_int("TOWNBRAIN_EVIDENCE_MAX_MB", 20) * 1024 * 1024

# Rate limits (core/ratelimit.py, docs/security.md): door -> (requests, seconds) per caller; 0 = off.
RATE_LIMITS = {
    "token": (env_int("TOWNBRAIN_RATE_TOKEN_PER_MINUTE", 20), 60),
    "public-report": (env_int("TOWNBRAIN_PUBLIC_REPORTS_PER_HOUR", 5), 3600),
    "open311": (env_int("TOWNBRAIN_OPEN311_PER_HOUR", 60), 3600),
    "ingest": (env_int("TOWNBRAIN_INGEST_PER_MINUTE", 600), 60),
}

# Personal data (docs/security.md): reporters' contacts are blanked this many days after an event
# closed, by `townbrain privacy purge` (run it daily).
PERSONAL_DATA_RETENTION_DAYS = env_int("TOWNBRAIN_PERSONAL_DATA_RETENTION_DAYS", 365)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = HOME / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve straight from the package in development and tests; production runs collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = Path(os.environ.get("TOWNBRAIN_MEDIA_ROOT", "").strip() or HOME / "uploads").resolve()
MEDIA_URL = "/media/"

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["townbrain.core.drf.FilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "townbrain.core.drf.Pagination",
    "DEFAULT_PARSER_CLASSES": ["townbrain.core.parsers.JSONParser", "townbrain.core.parsers.FormParser",
                               "townbrain.core.parsers.MultiPartParser"],
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "townbrain.core.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "townbrain.core.drf.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "TownBrain API (乡村小脑)",
    "DESCRIPTION": "Township development programmes: org tree, users, audit log, programmes, projects and "
    "roll-ups, indicators and formulas, assessments, imports and the data standard, experts, acceptance. "
    "Authenticate with `POST /api/auth/token/` and send `Authorization: Token <token>`.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation's error statuses and bodies, declared in one place (core/openapi.py).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "townbrain.core.openapi.declare_error_responses"],
    # Two models have a field called kind (experts, roll-up cells) and two a role: name the enums apart.
    "ENUM_NAME_OVERRIDES": {"ExpertKindEnum": "townbrain.experts.models.ExpertKind",
                            "MembershipRoleEnum": "townbrain.core.roles.Role",
                            "OfficeRoleEnum": "townbrain.access.forms.OFFICE_ROLES",
                            "AcceptanceStageEnum": "townbrain.acceptance.models.Stage",
                            "DealStageEnum": "townbrain.investment.models.Stage",
                            "OutletLevelEnum": "townbrain.publicity.models.OutletLevel",
                            "HonourKindEnum": "townbrain.publicity.models.HonourKind",
                            "SensorKindEnum": "townbrain.sensing.models.SensorKind",
                            "ProjectStatusEnum": "townbrain.projects.models.Status",
                            "EventStatusEnum": "townbrain.governance.models.Status",
                            "SatisfactionEnum": "townbrain.governance.models.Verdict",
                            "ReviewVerdictEnum": "townbrain.acceptance.models.ChecklistItem.Verdict",
                            "WorkPlanKindEnum": "townbrain.workplans.models.Kind",
                            "WorkPlanStatusEnum": "townbrain.workplans.models.PlanStatus"},
}

# Content Security Policy (django-csp 4.0; docs/security.md): no inline script, style or event handler
# anywhere. NONCE is added to a response's header only when its template read `request.csp_nonce`
# (Swagger UI's page); the browsable API and ReDoc get 'unsafe-inline' in style-src only
# (townbrain/core/csp.py). No report-uri: the browser tests fail on any violation instead.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp_constants.SELF],
        "script-src": [csp_constants.SELF, csp_constants.NONCE],
        "style-src": [csp_constants.SELF, csp_constants.NONCE],
        "img-src": [csp_constants.SELF, "data:"],
        "font-src": [csp_constants.SELF, "data:"],
        "connect-src": [csp_constants.SELF],
        "object-src": [csp_constants.NONE],
        "base-uri": [csp_constants.SELF],
        "form-action": [csp_constants.SELF],
        "frame-ancestors": [csp_constants.NONE],
    },
}

# A login lasts this long from signing in (not renewed by each request: no session write per request)
# or, if asked, ends when the browser closes; logging out ends it at once.
SESSION_COOKIE_AGE = env_int("TOWNBRAIN_SESSION_HOURS", 12) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("TOWNBRAIN_SESSION_BROWSER_CLOSE", False)
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("TOWNBRAIN_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
