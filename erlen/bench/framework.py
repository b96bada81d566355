"""Side-by-side benchmark: the same app on Flask and on erlen, in one process, one run.

Each scenario calls the WSGI app in-process (no server, no sockets) with a fresh copy of a
prebuilt environ, so only framework work is timed. Rounds alternate between the two
frameworks to share any drift in machine load. Reported per framework: the best round's
time per request (the least disturbed by other load, as ``timeit`` recommends) and the
median round's; the ratio erlen / Flask is given for both.

    python bench/framework.py [--rounds 15] [--requests 2000] [--json out.json]
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import io
import json
import statistics
import sys
import time
import typing as t
from pathlib import Path

import flask
from werkzeug.test import EnvironBuilder

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app import create_app

import erlen

POST_BODY = json.dumps({"name": "Ada", "tags": ["a", "b", "c"], "score": 9.5}).encode()

# name -> (method, path, body, expected status)
SCENARIOS: dict[str, tuple[str, str, bytes | None, int]] = {
    "hello (text)": ("GET", "/", None, 200),
    "json + converter + query": ("GET", "/users/42?fields=name", None, 200),
    "404": ("GET", "/missing", None, 404),
    "render_template": ("GET", "/page", None, 200),
    "json POST": ("POST", "/echo", POST_BODY, 200),
}


def make_environ(method: str, path: str, body: bytes | None) -> dict[str, t.Any]:
    kwargs: dict[str, t.Any] = {"method": method, "base_url": "http://localhost/"}
    if body is not None:
        kwargs.update(data=body, content_type="application/json")
    return EnvironBuilder(path, **kwargs).get_environ()


def run_requests(app: t.Any, environ: dict[str, t.Any], body: bytes | None, n: int) -> float:
    """Call the app ``n`` times; return seconds per request."""
    statuses: list[str] = []

    def start_response(status: str, headers: t.Any, exc_info: t.Any = None) -> t.Any:
        statuses.append(status)

    gc.collect()
    started = time.perf_counter()
    for _ in range(n):
        env = environ.copy()
        if body is not None:
            env["wsgi.input"] = io.BytesIO(body)
        result = app(env, start_response)
        for _chunk in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()
    elapsed = time.perf_counter() - started
    del statuses[:-1]
    return elapsed / n


def check(
    app: t.Any, name: str, environ: dict[str, t.Any], body: bytes | None, status: int
) -> bytes:
    """Make sure both frameworks answer the scenario the same way before timing it."""
    seen: list[str] = []
    env = environ.copy()
    if body is not None:
        env["wsgi.input"] = io.BytesIO(body)
    out = b"".join(app(env, lambda s, h, e=None: seen.append(s)))
    if int(seen[0].split()[0]) != status:
        raise SystemExit(f"{name}: expected status {status}, got {seen[0]!r}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--requests", type=int, default=1000, help="requests per round")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.rounds < 1 or args.requests < 1:
        parser.error("--rounds and --requests must be at least 1")

    apps = {"flask": create_app(flask), "erlen": create_app(erlen)}
    results: dict[str, dict[str, float]] = {}
    versions = {name: importlib.metadata.version(name) for name in ("flask", "erlen", "werkzeug")}
    print(", ".join(f"{name} {version}" for name, version in versions.items()))
    print(f"{args.rounds} rounds x {args.requests} requests, in-process WSGI calls\n")
    print(f"{'':<28}{'best round, µs/request':^28}{'median round':^26}")
    columns = f"{'flask':>9}{'erlen':>9}{'ratio':>8}  {'flask':>8}{'erlen':>9}{'ratio':>8}"
    print(f"{'scenario':<28}{columns}")
    for name, (method, path, body, status) in SCENARIOS.items():
        environ = make_environ(method, path, body)
        bodies = {fw: check(app, name, environ, body, status) for fw, app in apps.items()}
        if bodies["flask"] != bodies["erlen"]:
            raise SystemExit(f"{name}: the frameworks' bodies differ:\n{bodies}")
        for app in apps.values():  # warm up caches, Jinja compilation
            run_requests(app, environ, body, 200)
        samples: dict[str, list[float]] = {"flask": [], "erlen": []}
        for _ in range(args.rounds):
            for fw, app in apps.items():
                samples[fw].append(run_requests(app, environ, body, args.requests))
        best = {fw: min(times) * 1e6 for fw, times in samples.items()}
        median = {fw: statistics.median(times) * 1e6 for fw, times in samples.items()}
        results[name] = {
            "flask_best_us": best["flask"],
            "erlen_best_us": best["erlen"],
            "ratio_best": best["erlen"] / best["flask"],
            "flask_median_us": median["flask"],
            "erlen_median_us": median["erlen"],
            "ratio_median": median["erlen"] / median["flask"],
        }
        row = results[name]
        print(
            f"{name:<28}{row['flask_best_us']:>9.1f}{row['erlen_best_us']:>9.1f}"
            f"{row['ratio_best']:>8.2f}  {row['flask_median_us']:>8.1f}"
            f"{row['erlen_median_us']:>9.1f}{row['ratio_median']:>8.2f}"
        )

    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
