"""`make down` leaves nothing of the project behind but its named volumes (the data), and
the tier then removes what it created itself: those volumes, .env, an engine it started."""

from __future__ import annotations

from compose_stack import ANONYMOUS_VOLUME
from compose_stack import ComposeStack
from compose_stack import docker_lines
from compose_stack import engine_answers
from compose_stack import PROJECT_LABEL
from compose_stack import run


def test_make_down_leaves_no_containers_networks_or_anonymous_volumes(
    compose_stack: ComposeStack,
) -> None:
    assert compose_stack.containers("web"), "the stack should be running before make down"
    run("make", "down", timeout=300, log=compose_stack.log)

    assert docker_lines("ps", "--all", "--quiet", "--filter", PROJECT_LABEL) == []
    assert docker_lines("network", "ls", "--quiet", "--filter", PROJECT_LABEL) == []
    volumes = set(docker_lines("volume", "ls", "--quiet", "--filter", PROJECT_LABEL))
    assert volumes <= {"erlen_pgdata", "erlen_redisdata"}, volumes
    dangling = set(docker_lines("volume", "ls", "--quiet", "--filter", "dangling=true"))
    new_anonymous = {
        v for v in dangling - compose_stack.dangling_before if ANONYMOUS_VOLUME.match(v)
    }
    assert new_anonymous == set()

    engine_was_ours = compose_stack.engine_started_here
    compose_stack.release()
    if engine_was_ours:
        assert not engine_answers(), "the engine this tier started is still running"
    else:
        assert engine_answers(), "an engine the tier did not start was stopped"
