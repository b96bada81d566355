"""Job enqueue and drain rates beside raw Dramatiq, and delivery under SIGKILL chaos.

    python erlen/bench/jobs.py                 # enqueue, then drain no-op and one-row-insert jobs
    python erlen/bench/jobs.py --chaos         # 2,000 idempotent jobs, a worker killed every 2 s

**Enqueue.** N no-op jobs sent one after another inside a request, as a view would:
erlen's ``Job.send`` (which checks the arguments first) against Dramatiq's ``Actor.send``
on a broker with the same settings; rounds alternate which goes first.

**Drain.** N jobs are enqueued into a staging namespace while two worker processes start
(4 threads each, same Redis broker settings: heartbeat 5 s, maintenance 10 %); once both
are idle, the staged keys are renamed into the live namespace in one transaction, and the
clock runs until Redis holds no message of the queue. Each variant gets fresh workers;
each of ``--rounds`` rounds runs every variant once (starting with a different one each
round) and gives a ratio to ``raw`` measured seconds apart. Reported: each variant's median
rate, and the median and range of the per-round ratios (a ratio of best rates would reward
one lucky round; a paired ratio cancels the machine's slow minutes, which hit both sides):

- ``raw``: Dramatiq's ``RedisBroker`` and default middleware, a plain SQLAlchemy
  ``Session(engine)`` per job (no ``pool_pre_ping``);
- ``erlen``: ``erlen.ext.jobs`` and ``erlen.ext.sqlalchemy`` with their defaults
  (``db.session``, app context per job, connections pinged only after 10 s idle);
- ``erlen-pre-ping``: the same with ``SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True}``
  (a ping on every checkout, erlen's default before 0.2).

**Chaos.** 2,000 jobs of 50 ms, each claiming a ``JobKeys`` key and inserting one row in the
same transaction, drained by two ``worker_main`` processes (shipped settings) while one of
them is SIGKILLed (its whole process group) and restarted every 2 s for 20 s. Reported:
jobs lost (no row), duplicate effects (should be 0: the key), deliveries beyond the first
(at-least-once at work), how long after the kill that interrupted it a job started again
(requeued jobs join the back of the queue, so this includes the wait behind the backlog),
and how long the drain went on after the last kill.

Needs Redis (``--redis``, default ``redis://127.0.0.1:6379/1``) and Postgres at
127.0.0.1:5432 (trust; a throwaway database is created and dropped). Numbers from a shared,
loaded machine are rough: compare the ratios of one run, never absolute rates across runs.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
import typing as t

import psycopg
import redis
import sqlalchemy as sa
from psycopg import sql

HERE = os.path.dirname(os.path.abspath(__file__))
PG = {"host": "127.0.0.1", "port": 5432, "user": os.environ.get("PGUSER") or "postgres"}
HEARTBEAT_TIMEOUT = 5_000
MAINTENANCE_CHANCE = 100_000


def database_url(name: str) -> str:
    return f"postgresql+psycopg://{PG['user']}@{PG['host']}:{PG['port']}/{name}"


# -- the worker processes --------------------------------------------------------------------


def raw_worker(redis_url: str, namespace: str, db_url: str, threads: int) -> t.Any:
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker
    from sqlalchemy.orm import Session

    broker = RedisBroker(
        url=redis_url,
        namespace=namespace,
        heartbeat_timeout=HEARTBEAT_TIMEOUT,
        maintenance_chance=MAINTENANCE_CHANCE,
    )
    dramatiq.set_broker(broker)
    engine = sa.create_engine(db_url)
    rows = sa.Table("rows", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))

    @dramatiq.actor(actor_name="noop", max_retries=3)
    def noop(n: int) -> None:
        pass

    @dramatiq.actor(actor_name="insert", max_retries=3)
    def insert(n: int) -> None:
        with Session(engine) as session:
            session.execute(rows.insert().values(id=n))
            session.commit()

    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
    worker.start()
    return worker


def erlen_app(redis_url: str, namespace: str, db_url: str, pre_ping: bool = False) -> t.Any:
    import erlen
    from erlen.ext.jobs import Jobs
    from erlen.ext.jobs.idempotency import JobKeys
    from erlen.ext.sqlalchemy import SQLAlchemy

    app = erlen.Erlen("bench_jobs")
    app.config.update(
        BROKER_URL=redis_url,
        JOBS_NAMESPACE=namespace,
        SQLALCHEMY_DATABASE_URI=db_url,
        DATABASE_URL=db_url,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True} if pre_ping else {},
    )
    db = SQLAlchemy()
    jobs = Jobs()
    rows = sa.Table("rows", db.metadata, sa.Column("id", sa.Integer, primary_key=True))
    keys = JobKeys(db.metadata)

    @jobs.actor(actor_name="noop")
    def noop(n: int) -> None:
        pass

    @jobs.actor(actor_name="insert")
    def insert(n: int) -> None:
        db.session.execute(rows.insert().values(id=n))
        db.session.commit()

    @jobs.actor(actor_name="effect", max_retries=10, min_backoff=100, max_backoff=1000)
    def effect(n: int) -> None:
        client = jobs.broker().client  # type: ignore[attr-defined]
        client.rpush(f"{namespace}:runs", f"{n}|{time.time():.3f}")
        if not keys.claim(db.session):
            return
        db.session.execute(rows.insert().values(id=n))
        time.sleep(0.05)
        db.session.commit()

    db.init_app(app)
    jobs.init_app(app)
    app.extensions["bench"] = (db, jobs, rows, keys)
    return app


def worker_main(args: argparse.Namespace) -> int:
    if args.kind == "raw":
        worker = raw_worker(args.redis, args.namespace, args.db, args.threads)
        stop = worker.stop
    elif args.kind == "chaos":
        app = erlen_app(args.redis, args.namespace, args.db)
        _, jobs, _, _ = app.extensions["bench"]
        return int(
            jobs.worker_main(
                app,
                [
                    f"--threads={args.threads}",
                    f"--heartbeat-file={args.heartbeat}",
                    "--no-scheduler",
                ],
            )
        )
    else:
        app = erlen_app(args.redis, args.namespace, args.db, pre_ping=args.kind == "erlen-pre-ping")
        _, jobs, _, _ = app.extensions["bench"]
        handle = jobs.run_worker_thread(worker_threads=args.threads, app=app)
        stop = handle.stop
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    print("ready", flush=True)
    while not stopping:
        time.sleep(0.1)
    stop()
    return 0


# -- the driver ------------------------------------------------------------------------------


def start_workers(kind: str, ns: str, redis_url: str, db_url: str, count: int = 2) -> list[t.Any]:
    procs = []
    for i in range(count):
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "_worker",
                    kind,
                    f"--namespace={ns}",
                    f"--redis={redis_url}",
                    f"--db={db_url}",
                    f"--heartbeat=/tmp/{ns}-{i}.{{pid}}.heartbeat",
                ],
                stdout=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        )
    for proc in procs:
        line = proc.stdout.readline() if proc.stdout else ""
        if line.strip() != "ready":
            raise SystemExit(f"a {kind} worker did not start")
    return procs


def stop_workers(procs: list[t.Any]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def delete_keys(client: redis.Redis, prefix: str) -> None:
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    for i in range(0, len(keys), 500):
        client.delete(*keys[i : i + 500])


def stage(redis_url: str, staging: str, actor: str, n: int) -> None:
    from dramatiq import Message
    from dramatiq.brokers.redis import RedisBroker

    broker = RedisBroker(url=redis_url, namespace=staging)
    broker.declare_queue("default")
    for i in range(n):
        broker.enqueue(
            Message(queue_name="default", actor_name=actor, args=(i,), kwargs={}, options={})
        )
    broker.client.close()


def enqueue_rate(kind: str, n: int, redis_url: str, db_url: str) -> float:
    """Jobs/s a web process enqueues: ``send()`` of a no-op job, one after another, inside a
    request (erlen: ``Job.send`` in ``test_request_context``, with its argument check; raw:
    ``Actor.send`` on a broker with the same settings)."""
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker

    client = redis.Redis.from_url(redis_url)
    ns = f"erlen-bench-{secrets.token_hex(4)}"
    try:
        if kind == "raw":
            broker = RedisBroker(
                url=redis_url,
                namespace=ns,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                maintenance_chance=MAINTENANCE_CHANCE,
            )
            noop = dramatiq.actor(lambda n: None, actor_name="noop", broker=broker)
            noop.send(-1)  # connected, scripts loaded
            started = time.perf_counter()
            for i in range(n):
                noop.send(i)
            elapsed = time.perf_counter() - started
            broker.client.close()
        else:
            app = erlen_app(redis_url, ns, db_url)
            job = app.extensions["bench"][1].jobs["noop"]
            with app.test_request_context("/"):
                job.send(-1)
                started = time.perf_counter()
                for i in range(n):
                    job.send(i)
                elapsed = time.perf_counter() - started
            app.extensions["jobs"].close()
        return n / elapsed
    finally:
        delete_keys(client, ns)
        client.close()


def drain(kind: str, actor: str, n: int, redis_url: str, db_url: str) -> float:
    client = redis.Redis.from_url(redis_url)
    ns = f"erlen-bench-{secrets.token_hex(4)}"
    staging = f"{ns}-staging"
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE rows"))
    try:
        stage(redis_url, staging, actor, n)
        procs = start_workers(kind, ns, redis_url, db_url)
        try:
            time.sleep(0.5)  # both idle
            pipe = client.pipeline(transaction=True)
            pipe.rename(f"{staging}:default", f"{ns}:default")
            pipe.rename(f"{staging}:default.msgs", f"{ns}:default.msgs")
            pipe.execute()
            started = time.perf_counter()
            while client.hlen(f"{ns}:default.msgs"):
                time.sleep(0.005)
            elapsed = time.perf_counter() - started
        finally:
            stop_workers(procs)
        if actor == "insert":
            with engine.connect() as conn:
                count = conn.execute(sa.text("SELECT count(*) FROM rows")).scalar()
            if count != n:
                raise SystemExit(f"{kind}: {count} rows for {n} jobs")
        return n / elapsed
    finally:
        delete_keys(client, ns)
        client.close()
        engine.dispose()


def chaos(
    n: int, redis_url: str, db_url: str, period: float, kills_wanted: int
) -> dict[str, t.Any]:
    client = redis.Redis.from_url(redis_url)
    ns = f"erlen-bench-{secrets.token_hex(4)}"
    app = erlen_app(redis_url, ns, db_url)
    _, jobs, _, _ = app.extensions["bench"]
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE rows, erlen_job_keys"))
    with app.app_context():
        effect = jobs.jobs["effect"]
        for i in range(n):
            effect.send(i)
    procs = [spawn_chaos_worker(ns, redis_url, db_url, i) for i in range(2)]
    kills = 0
    kill_times: list[float] = []
    last_kill = time.perf_counter()
    started = time.perf_counter()

    def done() -> int:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(DISTINCT id) FROM rows")).scalar() or 0)

    try:
        while kills < kills_wanted and done() < n:
            time.sleep(period)
            victim = kills % 2
            os.killpg(procs[victim].pid, signal.SIGKILL)
            procs[victim].wait()
            last_kill = time.perf_counter()
            kill_times.append(time.time())
            kills += 1
            procs[victim] = spawn_chaos_worker(ns, redis_url, db_url, victim)
        deadline = time.perf_counter() + 120
        while done() < n and time.perf_counter() < deadline:
            time.sleep(0.05)
        finished = time.perf_counter()
    finally:
        stop_workers(procs)
    with engine.connect() as conn:
        rows, distinct = conn.execute(
            sa.text("SELECT count(*), count(DISTINCT id) FROM rows")
        ).one()
    starts: dict[int, list[float]] = {}
    for entry in client.lrange(f"{ns}:runs", 0, -1):
        job, _, at = entry.decode().partition("|")
        starts.setdefault(int(job), []).append(float(at))
    # How long after the kill that interrupted it each re-run job started again.
    delays = sorted(
        runs[1] - max(k for k in kill_times if k <= runs[1])
        for runs in (sorted(v) for v in starts.values())
        if len(runs) > 1 and any(k <= runs[1] for k in kill_times)
    )
    result = {
        "jobs": n,
        "kills": kills,
        "lost": n - int(distinct),
        "duplicate effects": int(rows) - int(distinct),
        "deliveries beyond the first": sum(len(v) for v in starts.values()) - len(starts),
        # Requeued jobs go to the back of the queue: this includes the wait behind the backlog.
        "re-run after its kill s (median)": round(delays[len(delays) // 2], 1) if delays else None,
        "re-run after its kill s (max)": round(delays[-1], 1) if delays else None,
        "total s": round(finished - started, 1),
        "drain went on after last kill s": round(max(0.0, finished - last_kill), 1),
    }
    delete_keys(client, ns)
    client.close()
    app.extensions["jobs"].close()
    engine.dispose()
    return result


def spawn_chaos_worker(ns: str, redis_url: str, db_url: str, i: int) -> t.Any:
    return subprocess.Popen(
        [
            sys.executable,
            __file__,
            "_worker",
            "chaos",
            f"--namespace={ns}",
            f"--redis={redis_url}",
            f"--db={db_url}",
            "--threads=4",
            f"--heartbeat=/tmp/{ns}-{i}.{{pid}}.heartbeat",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        parser = argparse.ArgumentParser()
        parser.add_argument("kind")
        parser.add_argument("--namespace")
        parser.add_argument("--redis")
        parser.add_argument("--db")
        parser.add_argument("--threads", type=int, default=4)
        parser.add_argument("--heartbeat")
        return worker_main(parser.parse_args(sys.argv[2:]))

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=3000, help="jobs per drain (default 3000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (median reported)")
    parser.add_argument("--chaos", action="store_true", help="run the chaos mode instead")
    parser.add_argument(
        "--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1")
    )
    args = parser.parse_args()

    name = f"erlen_bench_jobs_{secrets.token_hex(4)}"
    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:  # type: ignore[arg-type]
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db_url = database_url(name)
    try:
        app = erlen_app(args.redis, "erlen-bench-setup", db_url)
        db = app.extensions["bench"][0]
        with app.app_context():
            db.metadata.create_all(db.engine)
            db.engine.dispose()
        app.extensions["jobs"].close()
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (rough numbers)")
        if args.chaos:
            result = chaos(2000, args.redis, db_url, period=2.0, kills_wanted=10)
            for key, value in result.items():
                print(f"{key:32} {value}")
            return 0
        enqueued: dict[str, list[float]] = {"raw": [], "erlen": []}
        for round_ in range(args.rounds):
            for kind in ("raw", "erlen") if round_ % 2 == 0 else ("erlen", "raw"):
                enqueued[kind].append(enqueue_rate(kind, args.jobs, args.redis, db_url))
        ratios = [ours / raw for ours, raw in zip(enqueued["erlen"], enqueued["raw"], strict=True)]
        print(
            f"enqueue from a request ({args.jobs} sends, {args.rounds} rounds):"
            f" raw {statistics.median(enqueued['raw']):.0f}/s,"
            f" erlen {statistics.median(enqueued['erlen']):.0f}/s,"
            f" erlen/raw {statistics.median(ratios):.2f} [{min(ratios):.2f}-{max(ratios):.2f}]"
        )
        print(
            f"{args.jobs} jobs, 2 worker processes x 4 threads, {args.rounds} rounds;"
            " median jobs/s (higher is better), erlen/raw per round: median [min-max]"
        )
        kinds = ("raw", "erlen", "erlen-pre-ping")
        print(f"{'job':8} {'raw':>7} {'erlen':>7} {'ratio':>17} {'pre-ping':>9} {'ratio':>17}")
        for actor in ("noop", "insert"):
            rates: dict[str, list[float]] = {kind: [] for kind in kinds}
            for round_ in range(args.rounds):
                # Each round starts with a different variant: none always runs first.
                for kind in kinds[round_ % 3 :] + kinds[: round_ % 3]:
                    rates[kind].append(drain(kind, actor, args.jobs, args.redis, db_url))
            columns = [f"{actor:8} {statistics.median(rates['raw']):7.0f}"]
            for kind in kinds[1:]:
                ratios = [ours / raw for ours, raw in zip(rates[kind], rates["raw"], strict=True)]
                columns.append(
                    f"{statistics.median(rates[kind]):{7 if kind == 'erlen' else 9}.0f}"
                    f" {statistics.median(ratios):5.2f} [{min(ratios):.2f}-{max(ratios):.2f}]"
                )
            print(" ".join(columns))
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:  # type: ignore[arg-type]
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
