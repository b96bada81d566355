"""What the transactional outbox costs a request, beside delivering directly.

    python erlen/bench/outbox.py [--requests 300] [--rounds 6]

One app, one table, a real Postgres and Redis. Each request inserts a row and implies one
event and one job, as the starter's "post a message" does:

- ``direct``: insert, commit, then ``publisher.publish`` and ``job.send`` (what an app does
  without the outbox: a Redis outage fails the request, a crash after the commit loses them);
- ``outbox``: insert plus ``outbox.publish`` and ``outbox.send`` in the same transaction,
  commit; the intents are delivered right after the commit and marked delivered.

Requests go through the test client (the WSGI app, no server), one after another, so the
figure is the per-request latency a user sees. The variants are interleaved for ``--rounds``
rounds; each round's median per request is printed, and the summary is the ratio of the
medians of the best half of the rounds (a shared machine adds noise in one direction only).

Needs Redis (``--redis``, default ``redis://127.0.0.1:6379/1``; keys under a throwaway
prefix, deleted afterwards) and Postgres at 127.0.0.1:5432 (trust; a throwaway database is
created and dropped).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
import typing as t

import psycopg
import redis
import sqlalchemy as sa
from psycopg import sql

PG = {"host": "127.0.0.1", "port": 5432, "user": os.environ.get("PGUSER") or "postgres"}


def build_app(redis_url: str, prefix: str, db_url: str) -> t.Any:
    import erlen
    from erlen.ext.jobs import Jobs
    from erlen.ext.outbox import Outbox
    from erlen.ext.realtime import Publisher
    from erlen.ext.sqlalchemy import SQLAlchemy

    app = erlen.Erlen("bench_outbox")
    app.config.update(
        SQLALCHEMY_DATABASE_URI=db_url,
        REDIS_URL=redis_url,
        BROKER_URL=redis_url,
        KEY_PREFIX=prefix,
        JOBS_NAMESPACE=prefix,
    )
    db = SQLAlchemy()
    jobs = Jobs()
    publisher = Publisher()
    outbox = Outbox(db.metadata, jobs=jobs, publisher=publisher)
    rows = sa.Table(
        "rows",
        db.metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("body", sa.String(200)),
    )

    @jobs.actor(actor_name="process")
    def process(row_id: int) -> None:
        pass

    def insert() -> int:
        result = db.session.execute(rows.insert().values(body="hello there"))
        return int(result.inserted_primary_key[0])

    @app.post("/direct")
    def direct() -> tuple[str, int]:
        row_id = insert()
        db.session.commit()
        publisher.publish("board", "row.added", {"id": row_id})
        process.send(row_id)
        return "", 201

    @app.post("/outbox")
    def via_outbox() -> tuple[str, int]:
        row_id = insert()
        outbox.publish(db.session, "board", "row.added", {"id": row_id})
        outbox.send(db.session, process, row_id)
        db.session.commit()
        return "", 201

    db.init_app(app)
    jobs.init_app(app)
    publisher.init_app(app)
    outbox.init_app(app)
    with app.app_context():
        db.create_all()
    return app


def run_round(client: t.Any, path: str, n: int) -> float:
    """Median seconds per request over ``n`` requests."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.post(path)
        times.append(time.perf_counter() - start)
        if response.status_code != 201:
            raise SystemExit(f"{path} answered {response.status_code}")
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/1")
    args = parser.parse_args()

    name = f"erlen_bench_outbox_{secrets.token_hex(4)}"
    prefix = f"erlen-bench-outbox-{secrets.token_hex(4)}"
    admin = psycopg.connect(dbname="postgres", autocommit=True, **PG)  # type: ignore[arg-type]
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db_url = f"postgresql+psycopg://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
    results: dict[str, list[float]] = {"direct": [], "outbox": []}
    app = None
    try:
        app = build_app(args.redis, prefix, db_url)
        client = app.test_client()
        for path in ("/direct", "/outbox"):  # warm both paths up: pools, statement caches
            run_round(client, path, 50)
        for round_no in range(1, args.rounds + 1):
            order = ("direct", "outbox") if round_no % 2 else ("outbox", "direct")
            for variant in order:
                results[variant].append(run_round(client, f"/{variant}", args.requests))
            print(
                f"round {round_no}: direct {results['direct'][-1] * 1e3:.2f} ms,"
                f" outbox {results['outbox'][-1] * 1e3:.2f} ms"
                f" ({results['outbox'][-1] / results['direct'][-1]:.2f}x)",
                flush=True,
            )
    finally:
        if app is not None:
            from erlen.ext.sqlalchemy import SQLAlchemy

            db = app.extensions["sqlalchemy"]
            assert isinstance(db, SQLAlchemy)
            with app.app_context():
                for engine in db.engines.values():
                    engine.dispose()
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.close()
        client_redis = redis.Redis.from_url(args.redis)
        for key in client_redis.scan_iter(f"{prefix}*"):
            client_redis.delete(key)
        client_redis.close()

    def best_half(values: list[float]) -> float:
        ordered = sorted(values)
        return statistics.median(ordered[: max(1, len(ordered) // 2)])

    direct, outbox = best_half(results["direct"]), best_half(results["outbox"])
    print(
        f"per request (median of the best half of {args.rounds} rounds):"
        f" direct {direct * 1e3:.2f} ms, outbox {outbox * 1e3:.2f} ms,"
        f" outbox/direct = {outbox / direct:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
