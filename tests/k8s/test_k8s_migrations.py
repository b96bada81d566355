"""Migrations run before the new code: the migrate Job upgrades, and web and worker pods
wait in an init container until the database is at their image's head."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import types
import typing as t
from pathlib import Path

import pytest
import stackconf
from k8s_manifests import containers
from k8s_manifests import K8S_DIR
from k8s_manifests import main_container
from k8s_manifests import pod_spec
from k8s_manifests import Rendered
from k8s_manifests import ROOT

SCRIPT = K8S_DIR / "base" / "wait_for_migrations.py"


def load_script() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("wait_for_migrations", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def waits_for_migrations(rendered: Rendered, kind: str, name: str) -> bool:
    workload = rendered.get(kind, name)
    spec = pod_spec(workload)
    for init in spec.get("initContainers") or []:
        if "wait_for_migrations.py" not in " ".join(init["command"]):
            continue
        script_path = init["command"][1]
        mounts = {m["name"]: m["mountPath"] for m in init["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        for volume_name, mount_path in mounts.items():
            config_map = volumes[volume_name].get("configMap")
            if config_map and script_path.startswith(mount_path + "/"):
                data = rendered.config_data("ConfigMap", config_map["name"])
                # The ConfigMap carries this repository's script, byte for byte.
                assert data[Path(script_path).name] == SCRIPT.read_text()
                # Same settings as the service, so it reads the same database.
                main = main_container(workload)
                assert init["envFrom"] == main["envFrom"]
                assert init["image"] == main["image"]
                return True
    return False


def test_services_compose_starts_after_migrate_wait_for_migrations_here(
    overlay: Rendered, compose_services: dict[str, stackconf.Service]
) -> None:
    after_migrate = {
        name
        for name, service in compose_services.items()
        if service.depends_on.get("migrate") == "service_completed_successfully"
    }
    assert after_migrate == {"web", "worker"}
    for name in ("web", "realtime", "worker"):
        assert waits_for_migrations(overlay, "Deployment", name) == (name in after_migrate)


def test_the_migrate_job_runs_once_to_completion_and_cleans_up(overlay: Rendered) -> None:
    job = overlay.get("Job", "migrate")
    assert pod_spec(job)["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] >= 1
    assert job["spec"]["activeDeadlineSeconds"] > 0
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    assert len(containers(job)) == 1


@pytest.fixture
def app_env(tmp_path: Path, make_env: t.Callable[..., dict[str, str]]) -> dict[str, str]:
    return make_env(tmp_path)


def test_wait_for_head_returns_once_the_database_is_upgraded(
    app_env: dict[str, str],
) -> None:
    from erlen.ext.migrate import upgrade

    from web.app import create_app

    script = load_script()
    app = create_app(env=app_env)
    slept: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds
        if len(slept) == 3:  # the migrate Job finishes while we wait
            upgrade(app)

    at_head, state = script.wait_for_head(
        app, timeout=60, interval=2, sleep=sleep, clock=lambda: now[0]
    )
    assert at_head, state
    assert slept == [2, 2, 2]


def test_wait_for_head_gives_up_after_the_timeout(app_env: dict[str, str]) -> None:
    from web.app import create_app

    script = load_script()
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    at_head, state = script.wait_for_head(
        create_app(env=app_env), timeout=10, interval=3, sleep=sleep, clock=lambda: now[0]
    )
    assert not at_head
    assert state == "database at no revision"
    assert now[0] == 12


def test_the_init_container_command_exits_0_at_head_1_behind_2_misconfigured(
    app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from erlen.ext.migrate import upgrade

    from web.app import create_app

    script = load_script()
    for name, value in app_env.items():
        monkeypatch.setenv(name, value)
    assert script.main(["--timeout", "0"]) == 1
    assert "not at this image's head" in capsys.readouterr().err
    upgrade(create_app(env=app_env))
    assert script.main(["--timeout", "0"]) == 0
    monkeypatch.setenv("LOG_LEVEL", "loud")
    assert script.main(["--timeout", "0"]) == 2
    assert "LOG_LEVEL" in capsys.readouterr().err


def test_the_init_containers_command_runs_the_script_as_a_file(
    overlay: Rendered, app_env: dict[str, str], tmp_path: Path
) -> None:
    # As in the pod: `python /etc/erlen/wait_for_migrations.py` with the manifest's
    # PYTHONPATH (the image's /app, this checkout here), from another directory.
    (init,) = pod_spec(overlay.get("Deployment", "web"))["initContainers"]
    pythonpath = {e["name"]: e["value"] for e in init["env"]}["PYTHONPATH"]
    assert pythonpath == "/app"
    command = [sys.executable, str(SCRIPT), *init["command"][2:]]
    command[command.index("--timeout") + 1] = "0"
    result = subprocess.run(
        command,
        cwd=tmp_path,
        env={**app_env, "PYTHONPATH": str(ROOT), "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert "database at no revision, not at this image's head" in result.stderr


def test_wait_for_head_accepts_a_database_a_newer_release_migrated(
    app_env: dict[str, str],
) -> None:
    # A pod of the old release restarted mid-rollout finds the new release's revision.
    from erlen.ext.migrate import upgrade
    from sqlalchemy import text

    from web.app import create_app
    from web.extensions import db

    script = load_script()
    app = create_app(env=app_env)
    upgrade(app)
    with app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = 'f00dfeedbeef'"))
        db.session.commit()

    ready, state = script.wait_for_head(app, timeout=0, interval=1, sleep=lambda s: None)
    assert ready, state
    assert state == "database at f00dfeedbeef, ahead of this image (a newer release)"
