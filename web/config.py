"""Configuration from the environment (12-factor), read once when the app is created.

Every variable is documented in .env.example. A bad value fails start-up with a message
naming the variable, so a misconfigured container stops instead of half-working.
"""

from __future__ import annotations

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


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_LOG_LEVELS = {"debug", "info", "warning", "error", "critical"}


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


def _secret_key(env: t.Mapping[str, str], instance_path: Path, embedded: bool) -> str:
    key = env.get("SECRET_KEY", "")
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
    redis_url = _url(env, "REDIS_URL", "memory://", ("redis", "rediss", "memory"))
    broker_url = _url(env, "BROKER_URL", "memory://", ("redis", "rediss", "memory"))
    database_url = _url(
        env,
        "DATABASE_URL",
        f"sqlite:///{instance / 'erlen.db'}",
        ("postgresql", "postgres", "sqlite"),
    )
    # No external services configured means embedded mode: everything in one process.
    embedded = redis_url.startswith("memory:") and broker_url.startswith("memory:")
    log_level = env.get("LOG_LEVEL", "info").lower()
    if log_level not in _LOG_LEVELS:
        raise ConfigError("LOG_LEVEL", f"must be one of {sorted(_LOG_LEVELS)}, got {log_level!r}.")
    trusted = _list(env, "TRUSTED_HOSTS")
    proxies, hops = _trusted_proxies(env)
    return {
        "SECRET_KEY": _secret_key(env, instance, embedded),
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
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "LOG_LEVEL": log_level.upper(),
        "EMBEDDED": embedded,
    }
