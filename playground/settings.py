"""One settings module, read from the environment.

Embedded default: SQLite + in-memory channel layer, everything in one process.
Scale-out: DATABASE_URL (PostgreSQL) and REDIS_URL (channels-redis), several Daphne and worker processes.
"""

import os
from pathlib import Path

import dj_database_url
import platformdirs

BASE_DIR = Path(__file__).resolve().parent.parent
# A checkout keeps templates/, static/ and locale/ at its top level and its data in var/; an installed wheel carries
# them in kubeplay_assets/ (mapped by the build, see setup.py) and keeps its data in the user's data directory.
IN_CHECKOUT = (BASE_DIR / "manage.py").is_file()
ASSETS_DIR = BASE_DIR if IN_CHECKOUT else BASE_DIR / "kubeplay_assets"
DATA_DIR = Path(
    os.environ.get("KUBEPLAY_DATA_DIR")
    or (BASE_DIR / "var" if IN_CHECKOUT else platformdirs.user_data_dir("kubeplay", appauthor=False))
)
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _install_secret(path: Path) -> str:
    """A secret key made once per install and kept in the data directory (like the API's CA): nothing fixed in
    the source signs anyone's cookies or continue tokens."""
    if not path.exists():
        import secrets

        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process of this install made it first
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY") or _install_secret(DATA_DIR / "secret_key")
DEBUG = os.environ.get("DEBUG", "0") == "1"
# The name (or address) students and kubectl use to reach this server, e.g. `kubeplay.school.lan` or
# `192.168.1.20`: the kubeconfig's server URL is built from it (never from a request's Host header) and it joins
# ALLOWED_HOSTS. Unset, the playground answers only on this machine's loopback names.
KUBEPLAY_PUBLIC_HOST = os.environ.get("KUBEPLAY_PUBLIC_HOST", "").strip()
LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()] or [
    *LOCAL_HOSTS, *([KUBEPLAY_PUBLIC_HOST] if KUBEPLAY_PUBLIC_HOST else [])]
# Origins allowed to post the page's forms besides the page's own (a TLS proxy in front, say).
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]
# The API's request body limit (3 MiB, as the apiserver); larger bodies answer 413 before they are read.
DATA_UPLOAD_MAX_MEMORY_SIZE = 3 * 1024 * 1024
# The page may not be framed (no clickjacking of its delete and scale buttons) and runs no inline script.
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
                           "form-action 'self'; frame-ancestors 'none'")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

INSTALLED_APPS = [
    "daphne",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "template_partials",
    "cluster_core",
    "playground",
    "playground.classroom",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # The page's forms carry the token (htmx sends it as X-CSRFToken); the Kubernetes API is exempt: it is
    # authenticated by bearer token, not by cookie.
    "django.middleware.csrf.CsrfViewMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "playground.guards.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "playground.urls"
ASGI_APPLICATION = "playground.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [ASSETS_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
            ],
        },
    }
]

if os.environ.get("DATABASE_URL"):
    # A pool per process: every thread borrows a connection for a request or a loop's look and gives it back.
    # Connections kept per thread leaked one for each request's own thread (Django's ASGI handler runs each request
    # on a thread of its own), and a class of sixty used up PostgreSQL's 100. With health checks on, the pool checks
    # a connection as it lends it: one the server dropped (a restart) is replaced before it is used.
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=0,
                                                  conn_health_checks=True)}
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": int(os.environ.get("KUBEPLAY_DB_POOL", "10")),
        "timeout": 30,
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "cluster_core.storage.sqlite",
            "NAME": os.environ.get("KUBEPLAY_SQLITE", str(DATA_DIR / "kubeplay.sqlite3")),
            # Each thread keeps its connection: opening one (pragmas, functions registered) cost the loops more
            # than their reads did when every look opened its own.
            "CONN_MAX_AGE": None,
            "OPTIONS": {
                # Writers take the lock up front: no lock-upgrade deadlocks between loops and the API.
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                # 16 KiB pages (taken when the file is created): a burst writes thousands of feed rows of one to
                # two KiB each, which 4 KiB pages split across twice as many page writes. A 64 MiB page cache
                # keeps a burst's pages in memory until its commit. The ticker checkpoints the WAL in the
                # background (`cluster_core.checkpoint`); SQLite's own checkpoint, inside a commit, only
                # bounds the log at 10000 pages (160 MiB; the file is trimmed back to 64 MiB after).
                "init_command": (
                    "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=10000; "
                    "PRAGMA journal_size_limit=67108864;"
                ),
            },
            # One test database per test process: parallel runs never share a file.
            "TEST": {"NAME": os.environ.get("KUBEPLAY_SQLITE_TEST", str(DATA_DIR / f"test-{os.getpid()}.sqlite3"))},
        }
    }

REDIS_SOCKET_TIMEOUT = 20.0

if os.environ.get("REDIS_URL"):
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # A receive blocks in Redis for up to 5 s (BZPOPMIN); redis-py's own read time-out is 5 s too, so a
                # quiet channel's empty answer raced the client's time-out ("Timeout reading from …") and the
                # receive loops kept failing. The socket waits longer than Redis ever blocks.
                "hosts": [{"address": os.environ["REDIS_URL"], "socket_timeout": REDIS_SOCKET_TIMEOUT}],
                "capacity": 10000,
                "expiry": 30,
                # Several playground installations (or test runs) can share one Redis.
                "prefix": os.environ.get("KUBEPLAY_CHANNEL_PREFIX", "kubeplay"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "cluster_core.memory_layer.MemoryLayer", "CONFIG": {"capacity": 10000, "expiry": 30}}
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = True
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [ASSETS_DIR / "locale"]

STATIC_URL = "/static/"
STATICFILES_DIRS = [ASSETS_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"

# The API server's TLS material (generated once into DATA_DIR unless given).
KUBEPLAY_TLS_CERT = os.environ.get("KUBEPLAY_TLS_CERT", "")
KUBEPLAY_TLS_KEY = os.environ.get("KUBEPLAY_TLS_KEY", "")
# The API's TLS port, as the page's kubeconfig download names it (`manage.py playground --api-port` sets it).
KUBEPLAY_API_PORT = int(os.environ.get("KUBEPLAY_API_PORT", "6443"))
# The page's plain-HTTP port (`manage.py playground --port` sets it): the Kubernetes API is refused there.
KUBEPLAY_PAGE_PORT = None

# Playgrounds: how many may exist at once, and how long one nobody uses is kept before it is removed.
KUBEPLAY_MAX_PLAYGROUNDS = int(os.environ.get("KUBEPLAY_MAX_PLAYGROUNDS", "500"))
KUBEPLAY_IDLE_SECONDS = float(os.environ.get("KUBEPLAY_IDLE_HOURS", "24")) * 3600
# Classes: how long an ended class's playgrounds are kept (read-only) before they are removed.
KUBEPLAY_CLASS_KEEP_HOURS = float(os.environ.get("KUBEPLAY_CLASS_KEEP_HOURS", "24"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
