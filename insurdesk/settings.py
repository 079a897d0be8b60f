"""insurdesk settings, read from the environment (see README: Configuration)."""

import datetime
import ipaddress
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF

from insurdesk.common.localsecrets import load_secret

BASE_DIR = Path(__file__).resolve().parent.parent
PRODUCTION = os.environ.get("INSURDESK_PRODUCTION", "").lower() in {"1", "true", "yes"}
DATA_DIR = Path(os.environ.get("INSURDESK_DATA_DIR") or BASE_DIR / "var").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = load_secret("INSURDESK_SECRET_KEY", data_dir=DATA_DIR, production=PRODUCTION)
INSURDESK_FIELD_KEYS = load_secret("INSURDESK_FIELD_KEYS", data_dir=DATA_DIR, production=PRODUCTION)
INSURDESK_INDEX_KEY = load_secret("INSURDESK_INDEX_KEY", data_dir=DATA_DIR, production=PRODUCTION)
# Signs the audit chain's head and its anchors (docs/security.md): kept out of the database.
INSURDESK_AUDIT_KEY = load_secret("INSURDESK_AUDIT_KEY", data_dir=DATA_DIR, production=PRODUCTION)
# Append-only file of signed chain heads (`insurdesk audit anchor`, daily); `audit verify` compares.
INSURDESK_AUDIT_ANCHORS = Path(
    os.environ.get("INSURDESK_AUDIT_ANCHORS") or DATA_DIR / "audit" / "anchors.jsonl"
).resolve()
# Backups (insurdesk backup / restore) are encrypted under their own key, needed only where they run.
INSURDESK_BACKUP_KEY = os.environ.get("INSURDESK_BACKUP_KEY") or (
    "" if PRODUCTION else load_secret("INSURDESK_BACKUP_KEY", data_dir=DATA_DIR, production=False)
)

DEBUG = os.environ.get("INSURDESK_DEBUG", "" if PRODUCTION else "1").lower() in {"1", "true", "yes"}
ALLOWED_HOSTS = [h for h in os.environ.get("INSURDESK_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("INSURDESK_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "django_htmx",
    "template_partials",
    "simple_history",
    "rules.apps.AutodiscoverRulesConfig",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "insurdesk.common",
    "insurdesk.org",
    "insurdesk.audit",
    "insurdesk.customers",
    "insurdesk.compliance",
    "insurdesk.products",
    "insurdesk.applications",
    "insurdesk.underwriting",
    "insurdesk.policies",
    "insurdesk.servicing",
    "insurdesk.claims",
    "insurdesk.care",
    "insurdesk.lifecycle",
    "insurdesk.exchange",
    "insurdesk.api",
    "insurdesk.demo",
    # Before django_tasks_db: its `db_worker` command (with a heartbeat) replaces the library's.
    "insurdesk.ops",
    "insurdesk.webhooks",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    # First: the request id and the timing cover everything below (one JSON log line per request).
    "insurdesk.ops.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "insurdesk.common.security.SecurityHeadersMiddleware",
    # Every answer under /api/ in the API's JSON error shape (404, 405, 413, 500), never HTML.
    "insurdesk.api.middleware.ApiShapeMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "insurdesk.api.ratelimit.ApiRateLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    # Last: sign-in, second factor and the declared action of every page (insurdesk/org/policy.py).
    "insurdesk.org.middleware.AccessPolicyMiddleware",
]

ROOT_URLCONF = "insurdesk.urls"
WSGI_APPLICATION = "insurdesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "insurdesk" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "insurdesk.org.context_processors.navigation",
                "insurdesk.compliance.context_processors.navigation",
                "insurdesk.lifecycle.context_processors.navigation",
                "insurdesk.exchange.context_processors.navigation",
                "insurdesk.common.security.csp_nonce",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'insurdesk.sqlite3'}",
        conn_max_age=0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN so two
    # writers queue on busy_timeout instead of failing with "database is locked" mid-transaction.
    # The page cache is 64 MB a connection instead of SQLite's 2 MB: past a few hundred thousand
    # archives the indexes no longer fit in 2 MB, and an import of a million rows then spent more of
    # its time re-reading index pages than checking rows (docs/benchmarks.md, issue 4).
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
            f"PRAGMA cache_size=-{int(os.environ.get('INSURDESK_SQLITE_CACHE_KB', '65536'))};"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("INSURDESK_TEST_SQLITE_NAME") or None}
# A streaming replica (PostgreSQL) that exports and reports read from inside `replica_reads()`
# (insurdesk/common/replica.py); everything else, and anything that reads its own write, uses the primary.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(os.environ["DATABASE_REPLICA_URL"], conn_max_age=0)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["insurdesk.common.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "org.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login hardening (docs/security.md): after INSURDESK_LOGIN_FAILURE_LIMIT failures a username is
# locked whatever the address, and an address is locked whatever the usernames it tries.
AXES_FAILURE_LIMIT = int(os.environ.get("INSURDESK_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = int(os.environ.get("INSURDESK_LOGIN_LOCKOUT_MINUTES", "15")) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Failed usernames are kept as the audit log keeps them (a name no user has: first two characters and
# length), so a password typed into the username box is not stored in axes' tables.
AXES_USERNAME_CALLABLE = "insurdesk.org.signals.axes_username"
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
# Behind N reverse proxies the client is the N-th address from the right of X-Forwarded-For.
INSURDESK_PROXY_COUNT = int(os.environ.get("INSURDESK_PROXY_COUNT", "0"))
if INSURDESK_PROXY_COUNT:
    AXES_IPWARE_PROXY_COUNT = INSURDESK_PROXY_COUNT
    AXES_IPWARE_PROXY_ORDER = "right-most"
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")

# Second factor (TOTP): required for the roles in insurdesk.org.policy.SECOND_FACTOR_ROLES.
OTP_TOTP_ISSUER = os.environ.get("INSURDESK_OTP_ISSUER", "insurdesk")

# Idle timeout: activity pushes the session's end INSURDESK_SESSION_IDLE_SECONDS ahead (saved at
# most once a minute, insurdesk.org.middleware); a session older than INSURDESK_SESSION_SECONDS ends.
SESSION_COOKIE_AGE = int(os.environ.get("INSURDESK_SESSION_IDLE_SECONDS", str(30 * 60)))
INSURDESK_SESSION_MAX_SECONDS = int(os.environ.get("INSURDESK_SESSION_SECONDS", str(8 * 3600)))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content security policy (django-csp 4): scripts only from this site, htmx's tag carries the nonce;
# no inline styles at all, so templates use classes (docs/security.md).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("INSURDESK_HSTS_SECONDS", str(365 * 24 * 3600)))

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "insurdesk" / "locale"]
# The language switch in the page header (set_language) keeps the choice in this cookie.
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = PRODUCTION
TIME_ZONE = os.environ.get("INSURDESK_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Collected static files; a container image collects them at build time into its own directory.
STATIC_ROOT = Path(os.environ.get("INSURDESK_STATIC_ROOT") or DATA_DIR / "static")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "insurdesk" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        # INSURDESK_STATIC_COMPRESS=0 skips the gzip/brotli copies (collectstatic in seconds, not a minute).
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if os.environ.get("INSURDESK_STATIC_COMPRESS", "1") != "0"
        else "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "files"
MEDIA_URL = "/files/"
# Uploaded files (recordings, documents) are readable by the server's user only.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
# Request bodies other than files are read into memory up to this size (413 above it); uploaded files
# spill to a temporary file past FILE_UPLOAD_MAX_MEMORY_SIZE, and insurdesk.common.uploads caps them.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("INSURDESK_MAX_BODY_BYTES", str(5 * 1024 * 1024)))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Retention periods in years by rule, e.g. "personal_info=3" (insurdesk/lifecycle/rules.py); the law's
# minimums hold whatever is set here.
INSURDESK_RETENTION_YEARS = os.environ.get("INSURDESK_RETENTION_YEARS", "")

# Background jobs (imports) are rows in the database that `insurdesk db_worker` runs, on SQLite and
# PostgreSQL alike; tests run the queued rows synchronously (insurdesk/exchange/tests/conftest.py).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Largest file the import page accepts; the command line has no limit.
INSURDESK_IMPORT_MAX_BYTES = int(os.environ.get("INSURDESK_IMPORT_MAX_BYTES", str(200 * 1024 * 1024)))
# Checked before a spreadsheet is read (zip bombs, bulk): rows of one import, and the bytes its sheets'
# XML may expand to. The group member-list upload has its own, smaller limits.
INSURDESK_IMPORT_MAX_ROWS = int(os.environ.get("INSURDESK_IMPORT_MAX_ROWS", "1000000"))
INSURDESK_IMPORT_MAX_XML_BYTES = int(os.environ.get("INSURDESK_IMPORT_MAX_XML_BYTES", str(1 << 30)))
INSURDESK_MEMBERS_MAX_ROWS = int(os.environ.get("INSURDESK_MEMBERS_MAX_ROWS", "20000"))
INSURDESK_MEMBERS_MAX_XML_BYTES = int(os.environ.get("INSURDESK_MEMBERS_MAX_XML_BYTES", str(64 << 20)))
# Refused rows' details kept per import run (the first ones in full; the rest are only counted), which
# also bounds the size of its report.
# Uploaded import files (encrypted, under MEDIA_ROOT/imports) are deleted this many days after upload by
# `insurdesk daily`; 0 deletes each right after its import.
INSURDESK_UPLOAD_RETENTION_DAYS = int(os.environ.get("INSURDESK_UPLOAD_RETENTION_DAYS", "30"))
INSURDESK_IMPORT_MAX_ISSUES = int(os.environ.get("INSURDESK_IMPORT_MAX_ISSUES", "10000"))

NINJA_PAGINATION_PER_PAGE = 20

# API rate limit: a fixed window per token (per address without one); 0 switches it off. The counts
# sit in a file cache under the data directory so every server process on the machine shares them.
INSURDESK_API_RATE_LIMIT = int(os.environ.get("INSURDESK_API_RATE_LIMIT", "300"))
INSURDESK_API_RATE_WINDOW = int(os.environ.get("INSURDESK_API_RATE_WINDOW", "60"))
INSURDESK_RATE_LIMIT_CACHE = "ratelimit"
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "ratelimit": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(DATA_DIR / "cache" / "ratelimit"),
        "OPTIONS": {"MAX_ENTRIES": 5000},
    },
}
# Past one machine: one Redis shared by every server (redis://host:6379/0) holds the rate-limit
# counters and the caches, and sessions are read through it (written to the database as well).
# Login lockouts (django-axes) stay in the database, which every server already shares.
INSURDESK_CACHE_URL = os.environ.get("INSURDESK_CACHE_URL", "")
if INSURDESK_CACHE_URL:
    _prefix = os.environ.get("INSURDESK_CACHE_PREFIX", "insurdesk")
    CACHES = {
        alias: {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": INSURDESK_CACHE_URL,
            "KEY_PREFIX": f"{_prefix}:{alias}",
        }
        for alias in ("default", "ratelimit")
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Roles that see identity numbers, phones and accounts unmasked; see insurdesk/org/policy.py.
INSURDESK_API_TOKEN_DAYS = int(os.environ.get("INSURDESK_API_TOKEN_DAYS", "30"))

# AML and PIPL (issue 5): thresholds of the rating rules and the compliance clocks; FACTS.md marks
# them [R], so each is an environment variable. Lists are comma-separated; review years "high:1,...".
def _env_list(name: str, default: str = "") -> tuple[str, ...]:
    return tuple(x.strip() for x in os.environ.get(name, default).split(",") if x.strip())


INSURDESK_AML_CASH_THRESHOLD = os.environ.get("INSURDESK_AML_CASH_THRESHOLD", "20000")
INSURDESK_AML_TRANSFER_THRESHOLD = os.environ.get("INSURDESK_AML_TRANSFER_THRESHOLD", "200000")
INSURDESK_AML_SURRENDER_THRESHOLD = os.environ.get("INSURDESK_AML_SURRENDER_THRESHOLD", "10000")
INSURDESK_AML_EARLY_SURRENDER_YEARS = int(os.environ.get("INSURDESK_AML_EARLY_SURRENDER_YEARS", "2"))
INSURDESK_AML_BENEFICIARY_CHANGES = int(os.environ.get("INSURDESK_AML_BENEFICIARY_CHANGES", "3"))
INSURDESK_AML_MEDIUM_SCORE = int(os.environ.get("INSURDESK_AML_MEDIUM_SCORE", "25"))
INSURDESK_AML_HIGH_SCORE = int(os.environ.get("INSURDESK_AML_HIGH_SCORE", "60"))
INSURDESK_AML_HIGH_RISK_COUNTRIES = _env_list("INSURDESK_AML_HIGH_RISK_COUNTRIES", "PRK,IRN,MMR")
INSURDESK_AML_BORDER_REGIONS = _env_list(
    "INSURDESK_AML_BORDER_REGIONS", "5331,5328,5309,5308,5305,5333,5325,5326,4506,4514,4510")
INSURDESK_AML_EXTRA_TRADES = _env_list("INSURDESK_AML_EXTRA_TRADES")
INSURDESK_AML_REVIEW_YEARS = {
    k.strip(): int(v)
    for k, v in (p.split(":") for p in _env_list("INSURDESK_AML_REVIEW_YEARS", "high:1,medium:2,low:3"))
}
INSURDESK_AML_ID_GRACE_DAYS = int(os.environ.get("INSURDESK_AML_ID_GRACE_DAYS", "0"))
INSURDESK_AML_FLAG_REVIEW_DAYS = int(os.environ.get("INSURDESK_AML_FLAG_REVIEW_DAYS", "5"))
INSURDESK_PI_REQUEST_WORKING_DAYS = int(os.environ.get("INSURDESK_PI_REQUEST_WORKING_DAYS", "15"))
INSURDESK_HOLIDAYS = _env_list("INSURDESK_HOLIDAYS")  # public holidays, YYYY-MM-DD
INSURDESK_EXTRA_WORKDAYS = _env_list("INSURDESK_EXTRA_WORKDAYS")  # weekend days worked instead (调休)
INSURDESK_AUDIT_EXPORT_MAX = int(os.environ.get("INSURDESK_AUDIT_EXPORT_MAX", "100000"))

# Running for real (insurdesk/ops): the scheduler, the job workers' heartbeat, health and metrics.
INSURDESK_DAILY_AT = datetime.time.fromisoformat(os.environ.get("INSURDESK_DAILY_AT", "01:30"))
# /readyz reports the daily run late this long after INSURDESK_DAILY_AT.
INSURDESK_DAILY_GRACE_MINUTES = int(os.environ.get("INSURDESK_DAILY_GRACE_MINUTES", "60"))
INSURDESK_SCHEDULER_INTERVAL = float(os.environ.get("INSURDESK_SCHEDULER_INTERVAL", "30"))
INSURDESK_WORKER_HEARTBEAT_SECONDS = float(os.environ.get("INSURDESK_WORKER_HEARTBEAT_SECONDS", "5"))
# A worker silent this long is taken for dead: its running task goes back to the queue.
INSURDESK_WORKER_STALE_SECONDS = float(os.environ.get("INSURDESK_WORKER_STALE_SECONDS", "60"))
INSURDESK_TASK_MAX_ATTEMPTS = int(os.environ.get("INSURDESK_TASK_MAX_ATTEMPTS", "3"))
# /metrics answers these addresses or networks, or a request with this bearer token.
INSURDESK_METRICS_ALLOW = [
    ipaddress.ip_network(n.strip(), strict=False)
    for n in os.environ.get("INSURDESK_METRICS_ALLOW", "127.0.0.1,::1").split(",")
    if n.strip()
]
INSURDESK_METRICS_TOKEN = os.environ.get("INSURDESK_METRICS_TOKEN", "")
# Webhooks (insurdesk/webhooks): delivery attempts and the first wait; each wait doubles, up to a day.
INSURDESK_WEBHOOK_ATTEMPTS = int(os.environ.get("INSURDESK_WEBHOOK_ATTEMPTS", "8"))
INSURDESK_WEBHOOK_BACKOFF_SECONDS = float(os.environ.get("INSURDESK_WEBHOOK_BACKOFF_SECONDS", "30"))
INSURDESK_WEBHOOK_TIMEOUT = float(os.environ.get("INSURDESK_WEBHOOK_TIMEOUT", "10"))
# Private, loopback and link-local receivers: refused in production unless allowed here.
INSURDESK_WEBHOOK_ALLOW_PRIVATE = os.environ.get(
    "INSURDESK_WEBHOOK_ALLOW_PRIVATE", "" if PRODUCTION else "1"
).lower() in {"1", "true", "yes"}

# INSURDESK_LOG_FORMAT=json (the default under `insurdesk serve`): one JSON object a line, with the
# request id; every request is logged by insurdesk.ops.middleware (route name, status, time, user id).
_LOG_FORMAT = os.environ.get("INSURDESK_LOG_FORMAT", "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "insurdesk.ops.logs.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            **({"formatter": "json"} if _LOG_FORMAT == "json" else {}),
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("INSURDESK_LOG_LEVEL", "WARNING")},
    "loggers": {
        "insurdesk.request": {
            "level": os.environ.get(
                "INSURDESK_REQUEST_LOG_LEVEL", "INFO" if _LOG_FORMAT == "json" else "WARNING"
            ),
        },
    },
}
