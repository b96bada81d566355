"""Wait until the database is at (or past) this image's migration head; the init container of
web and worker pods on Kubernetes runs it (``python /etc/erlen/wait_for_migrations.py``).

The migrate Job runs ``erlen --app web.wsgi db upgrade``; pods of a new release start next to
it and wait here, so neither web nor worker runs new code against an old schema. Exits 0 once
the database is at head, 1 when ``--timeout`` passes first, 2 on a configuration error (the
message names the variable). It is mounted from a ConfigMap, so it needs nothing new in the
image: it reads the same environment as the services.
"""

from __future__ import annotations

import argparse
import sys
import time
import typing as t

if t.TYPE_CHECKING:
    from erlen import Erlen


def wait_for_head(
    app: Erlen,
    *,
    timeout: float,
    interval: float,
    sleep: t.Callable[[float], None] = time.sleep,
    clock: t.Callable[[], float] = time.monotonic,
) -> tuple[bool, str]:
    """Poll until ``app``'s database is at head, or ahead of it; return (ready, the last state).

    "Ahead" is a database a newer release already migrated: a pod of this release restarted
    mid-rollout (a node drain) may start on it, as its /readyz accepts (docs/deploy.md).
    """
    from erlen.ext.migrate import current_revisions
    from erlen.ext.migrate import migration_state

    deadline = clock() + timeout
    while True:
        try:
            where = migration_state(app)
            current = ", ".join(sorted(current_revisions(app))) or "no revision"
        except Exception as e:  # the database is not up yet, or not reachable yet
            state = f"database not reachable ({type(e).__name__})"
        else:
            if where == "at head":
                return True, f"database at head {current}"
            if where == "ahead":
                return True, f"database at {current}, ahead of this image (a newer release)"
            state = f"database at {current}"
        if clock() >= deadline:
            return False, state
        sleep(interval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds (default 600)")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between checks")
    args = parser.parse_args(argv)

    from web.config import ConfigError
    from web.entrypoint import CONFIG_ERROR
    from web.entrypoint import load_app

    try:
        app = load_app()
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return CONFIG_ERROR
    print("Waiting for the migrate Job to bring the database to this image's head.", flush=True)
    at_head, state = wait_for_head(app, timeout=args.timeout, interval=args.interval)
    if at_head:
        print(f"ok: {state}.")
        return 0
    print(
        f"error: after {args.timeout:g} s the {state}, not at this image's head."
        " Is the migrate Job running? (kubectl logs job/migrate)",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
