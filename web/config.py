"""Configuration from the environment (12-factor), read once when the app is created.

The environment's class (Development, Testing, Production) and the other sources layered
over these variables are web.environments'. Every variable is documented in .env.example.
A bad value fails start-up with a message naming the variable, so a misconfigured
container stops instead of half-working.

With real services (a database or Redis URL, not embedded mode) the app runs as production
and refuses to start with an unsafe setting: debug mode on (``ERLEN_DEBUG``/``FLASK_DEBUG``),
a service left at its embedded default (no ``DATABASE_URL``, an in-memory ``REDIS_URL`` or
``BROKER_URL``), or a ``SECRET_KEY`` that is missing, short, published or low in entropy,
all listed in one :class:`UnsafeSettings` error. A development stack with real services
(``make up-dev``, the k8s dev overlay) says so with ``ERLEN_ENV=development`` (the test
suites with ``ERLEN_ENV=testing``): those settings are then allowed, with a warning.
"""

from __future__ import annotations

import collections
import logging
import math
import os
import secrets
import typing as t
from pathlib import Path

from erlen.proxy import TrustedProxies


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


class UnsafeSettings(ConfigError):
    """Production refuses to start: every unsafe setting at once, one line each.

    :param problems: one :class:`ConfigError` per unsafe setting, in ``problems``.
    """

    def __init__(self, problems: list[ConfigError]) -> None:
        names = list(dict.fromkeys(p.name for p in problems))
        lines = "\n".join(f"  {p}" for p in problems)
        ValueError.__init__(
            self,
            f"{len(problems)} missing or unsafe setting{'s' if len(problems) > 1 else ''}"
            " for production:"
            f"\n{lines}\nFix each; only a development stack may set ERLEN_ENV=development"
            " to allow them.",
        )
        self.name = ", ".join(names)
        self.problems = problems


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_LOG_LEVELS = {"debug", "info", "warning", "error", "critical"}
_ENVIRONMENTS = ("production", "development", "testing")
_LOG_FORMATS = ("json", "text")
# What erlen (and Flask) read as debug off; anything else turns it on.
_DEBUG_OFF = {"", "0", "false", "no"}

#: The shortest SECRET_KEY production accepts: 32 characters, e.g. 24 random bytes in
#: base64 (``make up`` generates 43: ``secrets.token_urlsafe(32)``).
SECRET_KEY_MIN = 32
#: Keys that were published, and so sign nothing: .env.example's placeholder and the
#: development values committed in this repository.
KNOWN_SECRET_KEYS = frozenset({"generate", "dev-only-secret-key-not-for-production"})
#: Words a placeholder or made-up key holds, and a random key of this length never will.
PLACEHOLDER_WORDS = (
    "changeme",
    "change-me",
    "change_me",
    "secret",
    "password",
    "example",
    "placeholder",
    "default",
    "insecure",
    "not-for-production",
)
# Random keys carry 4 to 6 bits per character (hex, base64); below 2.5 the key is made of
# a few characters repeated.
_MIN_BITS_PER_CHARACTER = 2.5
_GENERATE = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"

log = logging.getLogger(__name__)


def _bool(env: t.Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(name, f"must be true or false, got {raw!r}.")


def _list(env: t.Mapping[str, str], name: str, default: str = "") -> list[str]:
    raw = env.get(name, default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def _url(env: t.Mapping[str, str], name: str, default: str, schemes: tuple[str, ...]) -> str:
    value = env.get(name) or default
    scheme = value.split(":", 1)[0].split("+", 1)[0]
    if scheme not in schemes:
        raise ConfigError(name, f"must be a {' or '.join(schemes)} URL, got {value!r}.")
    return value


def _int(env: t.Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"must be a whole number, got {raw!r}.") from None
    if value < minimum:
        raise ConfigError(name, f"must be at least {minimum}, got {value}.")
    return value


def _trusted_proxies(env: t.Mapping[str, str]) -> tuple[list[str] | None, int]:
    """The reverse proxies whose X-Forwarded-For/-Proto web believes (erlen.proxy)."""
    proxies = _list(env, "TRUSTED_PROXIES")
    hops = _int(env, "TRUSTED_PROXY_HOPS", 1, minimum=1)
    try:
        TrustedProxies.from_config(proxies, hops)
    except ValueError as e:
        raise ConfigError("TRUSTED_PROXIES", str(e).removeprefix("TRUSTED_PROXIES: ")) from None
    return proxies or None, hops


def secret_key_weaknesses(key: str) -> list[str]:
    """Why ``key`` can't sign production's sessions, one phrase each (none when it can).

    The key itself is never quoted: the messages end up in logs.
    """
    found = []
    if len(key) < SECRET_KEY_MIN:
        found.append(f"is {len(key)} characters long (production needs at least {SECRET_KEY_MIN})")
    if key in KNOWN_SECRET_KEYS:
        found.append("is a published value (.env.example's, or a development default)")
    else:
        words = [word for word in PLACEHOLDER_WORDS if word in key.lower()]
        if words:
            found.append(f"looks made up (it holds the word {words[0]!r})")
    if key and key in (key + key)[1:-1]:
        found.append("is a shorter string repeated")
    elif key and _bits_per_character(key) < _MIN_BITS_PER_CHARACTER:
        found.append(f"has too little entropy (only {len(set(key))} different characters)")
    return found


def _bits_per_character(text: str) -> float:
    """The Shannon entropy of ``text``'s own character frequencies, in bits."""
    counts = collections.Counter(text).values()
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts)


def _erlen_env(env: t.Mapping[str, str]) -> str:
    raw = env.get("ERLEN_ENV", "")
    value = raw.strip().lower() or "production"
    if value not in _ENVIRONMENTS:
        raise ConfigError("ERLEN_ENV", f"must be production, development or testing, got {raw!r}.")
    return value


def _embedded(env: t.Mapping[str, str]) -> bool:
    """No external services configured: everything in one process (``make dev``)."""
    return all(
        (env.get(name) or "memory://").startswith("memory:") for name in ("REDIS_URL", "BROKER_URL")
    )


def environment(env: t.Mapping[str, str]) -> str:
    """``ERLEN_ENV`` (production by default); embedded mode is development unless testing.

    :raises ConfigError: ``ERLEN_ENV`` is none of production, development, testing.
    """
    name = _erlen_env(env)
    if name == "production" and _embedded(env):
        return "development"
    return name


def unsafe_settings(
    env: t.Mapping[str, str], secret_key: str, debug_config: bool = False
) -> list[ConfigError]:
    """Every setting production must refuse: debug mode on, a weak or published key.

    :param debug_config: the app's ``DEBUG``, wherever it came from (instance/config.py).
    """
    problems = []
    # One line for both: `erlen run` copies ERLEN_DEBUG into FLASK_DEBUG.
    debug = {
        name: env[name]
        for name in ("ERLEN_DEBUG", "FLASK_DEBUG")
        if env.get(name, "").strip().lower() not in _DEBUG_OFF
    }
    if debug_config and not debug:
        debug = {"DEBUG": "True (instance/config.py or ERLEN_DEBUG)"}
    if debug:
        values = ", ".join(f"{name}={value!r}" for name, value in debug.items())
        problems.append(
            ConfigError(
                next(iter(debug)),
                f"debug mode is on ({values}): it can hand anyone the interactive debugger"
                " or a traceback, and lets errors escape their error pages. Unset it.",
            )
        )
    problems.extend(_missing_services(env))
    if not secret_key:
        problems.append(ConfigError("SECRET_KEY", "is not set; `make up` generates one in .env."))
    elif weaknesses := secret_key_weaknesses(secret_key):
        problems.append(
            ConfigError("SECRET_KEY", f"{'; '.join(weaknesses)}. Generate one: {_GENERATE}")
        )
    return problems


def _missing_services(env: t.Mapping[str, str]) -> list[ConfigError]:
    """Production's services not configured: defaults that only embedded mode can live with."""
    problems = []
    if not env.get("DATABASE_URL"):
        problems.append(
            ConfigError(
                "DATABASE_URL",
                "is not set: production would keep its data in a SQLite file in the instance"
                " folder, which a container loses. Point it at Postgres.",
            )
        )
    for name, carries in (("REDIS_URL", "live events"), ("BROKER_URL", "jobs")):
        if (env.get(name) or "memory://").startswith("memory:"):
            problems.append(
                ConfigError(
                    name,
                    f"is {env.get(name) or 'not set'} (in memory): {carries} would never leave"
                    " the process that made them. Point it at Redis.",
                )
            )
    return problems


def _secret_key(
    env: t.Mapping[str, str], instance_path: Path, embedded: bool, production: bool
) -> str:
    key = env.get("SECRET_KEY", "")
    if production:
        return key  # judged with every other unsafe setting: unsafe_settings
    if key:
        if len(key) < 16:
            raise ConfigError("SECRET_KEY", "must be at least 16 characters long.")
        return key
    if not embedded:
        raise ConfigError("SECRET_KEY", "is not set; `make up` generates one in .env.")
    # Embedded (make dev): a random key kept in instance/, so sessions survive restarts.
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def from_env(instance_path: str, env: t.Mapping[str, str] | None = None) -> dict[str, t.Any]:
    """The app's config keys, built from ``env`` (``os.environ`` by default)."""
    env = os.environ if env is None else env
    instance = Path(instance_path)
    name = environment(env)
    redis_url = _url(env, "REDIS_URL", "memory://", ("redis", "rediss", "memory"))
    broker_url = _url(env, "BROKER_URL", "memory://", ("redis", "rediss", "memory"))
    database_url = _url(
        env,
        "DATABASE_URL",
        f"sqlite:///{instance / 'erlen.db'}",
        ("postgresql", "postgres", "sqlite"),
    )
    embedded = _embedded(env)
    log_level = env.get("LOG_LEVEL", "info").lower()
    if log_level not in _LOG_LEVELS:
        raise ConfigError("LOG_LEVEL", f"must be one of {sorted(_LOG_LEVELS)}, got {log_level!r}.")
    log_format = env.get("LOG_FORMAT", "").strip().lower()
    if log_format and log_format not in _LOG_FORMATS:
        raise ConfigError("LOG_FORMAT", f"must be one of {list(_LOG_FORMATS)}, got {log_format!r}.")
    trusted = _list(env, "TRUSTED_HOSTS")
    proxies, hops = _trusted_proxies(env)
    # Real services mean production, unless the stack says it is a development one.
    production = name == "production"
    secret_key = _secret_key(env, instance, embedded, production)
    if not embedded:
        problems = unsafe_settings(env, secret_key)
        if problems and production:
            raise UnsafeSettings(problems)
        if problems:
            names = ", ".join(dict.fromkeys(p.name for p in problems))
            log.warning("ERLEN_ENV=%s: allowing %s; never in production.", name, names)
    return {
        "SECRET_KEY": secret_key,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "BROKER_URL": broker_url,
        "KEY_PREFIX": env.get("KEY_PREFIX") or "erlen",
        "ALLOWED_ORIGINS": _list(
            env, "ALLOWED_ORIGINS", "http://localhost:5000,http://127.0.0.1:5000"
        ),
        "REALTIME_URL": env.get("REALTIME_URL") or ":5001/ws",
        "TRUSTED_HOSTS": trusted or None,
        "TRUSTED_PROXIES": proxies,
        "TRUSTED_PROXY_HOPS": hops,
        "SESSION_COOKIE_SECURE": _bool(env, "SESSION_COOKIE_SECURE", False),
        "LOG_LEVEL": log_level.upper(),
        # Unset: the environment's class says (web.environments: JSON in production).
        **({"LOG_FORMAT": log_format} if log_format else {}),
        "EMBEDDED": embedded,
        **_mail_settings(env),
    }


def _mail_settings(env: t.Mapping[str, str]) -> dict[str, t.Any]:
    """``MAIL_*``: SMTP when ``MAIL_SERVER`` is set, else mail goes to the log (console)."""
    server = env.get("MAIL_SERVER", "").strip()
    use_ssl = _bool(env, "MAIL_USE_SSL", False)
    use_tls = _bool(env, "MAIL_USE_TLS", False)
    if use_ssl and use_tls:
        raise ConfigError("MAIL_USE_TLS", "and MAIL_USE_SSL can't both be true: pick one.")
    raw_port = env.get("MAIL_PORT", "").strip()
    port = 465 if use_ssl else 587 if use_tls else 25
    if raw_port:
        if not raw_port.isdigit() or not 1 <= int(raw_port) <= 65535:
            raise ConfigError("MAIL_PORT", f"must be a port number (1-65535), got {raw_port!r}.")
        port = int(raw_port)
    return {
        "MAIL_BACKEND": "smtp" if server else "console",
        "MAIL_SERVER": server or None,
        "MAIL_PORT": port,
        "MAIL_USE_TLS": use_tls,
        "MAIL_USE_SSL": use_ssl,
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_FROM": env.get("MAIL_FROM") or "erlen <no-reply@localhost>",
    }
