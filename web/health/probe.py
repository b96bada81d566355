"""A dependency-free HTTP probe for container health checks: ``python -m web.health URL``.

The slim runtime image has no curl; this exits 0 when ``URL`` answers 2xx within the
timeout, 1 otherwise (printing why).
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request


def probe(url: str, timeout: float = 4.0) -> tuple[bool, str]:
    """Fetch ``url``; return (healthy, one-line reason)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300, f"{response.status} {url}"
    except urllib.error.HTTPError as e:
        return False, f"{e.code} {url}: {e.read(200).decode(errors='replace')}"
    except (urllib.error.URLError, OSError) as e:
        return False, f"{url}: {e}"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m web.health URL", file=sys.stderr)
        return 2
    healthy, reason = probe(argv[0])
    print(reason)
    return 0 if healthy else 1
