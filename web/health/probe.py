"""A dependency-free HTTP probe for container health checks: ``python -m web.health URL``.

The slim runtime image has no curl; this exits 0 when ``URL`` answers 2xx within the
timeout, 1 otherwise (printing why).

Web refuses a ``Host`` outside ``TRUSTED_HOSTS`` (400), and a probe inside the container can
only address it as 127.0.0.1; so when ``TRUSTED_HOSTS`` is set, the probe presents itself
with the first trusted name, as a request routed by nginx would. The site's settings then
need nothing extra for the health check.
"""

from __future__ import annotations

import os
import sys
import typing as t
import urllib.error
import urllib.request


def probe_host(env: t.Mapping[str, str]) -> str | None:
    """The ``Host`` the probe sends: the first ``TRUSTED_HOSTS`` name, or ``None`` (the URL's)."""
    for name in env.get("TRUSTED_HOSTS", "").split(","):
        # ".example.com" trusts example.com and its subdomains; the bare name is one of them.
        name = name.strip().lstrip(".")
        if name:
            return name
    return None


def probe(url: str, timeout: float = 4.0, host: str | None = None) -> tuple[bool, str]:
    """Fetch ``url`` (as ``host`` if given); return (healthy, one-line reason)."""
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return 200 <= response.status < 300, f"{response.status} {url}"
    except urllib.error.HTTPError as e:
        return False, f"{e.code} {url}: {e.read(200).decode(errors='replace')}"
    except (urllib.error.URLError, OSError) as e:
        return False, f"{url}: {e}"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m web.health URL", file=sys.stderr)
        return 2
    healthy, reason = probe(argv[0], host=probe_host(os.environ))
    print(reason)
    return 0 if healthy else 1
