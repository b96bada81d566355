"""``python -m worker``: the job worker; ``python -m worker --check`` is its health check.

``--reload`` is this starter's; every other option belongs to erlen's worker
(``python -m worker --help`` lists them).
"""

from __future__ import annotations

import sys

import web.jobs  # noqa: F401  (declares the jobs this process runs)
from web.entrypoint import argument_parser
from web.entrypoint import load_app
from web.entrypoint import run
from web.extensions import jobs


def main(argv: list[str] | None = None) -> int:
    # The worker's own options (--threads, --check, ...) are parsed by erlen's worker_main,
    # which also answers --help.
    parser = argument_parser("python -m worker", __doc__, add_help=False)
    args, rest = parser.parse_known_args(argv)
    # The app is built only when a worker starts: `--check` needs neither app nor config.
    return run(lambda: jobs.worker_main(load_app, rest), reload=args.reload)


if __name__ == "__main__":
    sys.exit(main())
