"""``python -m worker``: the job worker; ``python -m worker --check`` is its health check."""

from __future__ import annotations

import sys

from web import create_app
from web.config import ConfigError
from web.extensions import jobs


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        app = create_app()
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    import worker.jobs  # noqa: F401  (registers the actors)

    return jobs.worker_main(app, argv)


if __name__ == "__main__":
    sys.exit(main())
