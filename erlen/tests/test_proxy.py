"""Trusted proxies (erlen.proxy): the client address and scheme behind nginx, and only there.

Each test is a request as a proxy (or a client pretending to be one) would send it: the
peer is ``REMOTE_ADDR``, what the proxies say is in ``X-Forwarded-For``/``-Proto``.
"""

from __future__ import annotations

import typing as t

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erlen import Erlen
from erlen import request
from erlen import url_for
from erlen.proxy import PEER_KEY
from erlen.proxy import TrustedProxies
from erlen.testing import FlaskClient

NGINX = "10.0.0.5"


@pytest.fixture
def app(app: Erlen) -> Erlen:
    app.config["TRUSTED_PROXIES"] = ["10.0.0.0/24"]

    @app.get("/who")
    def who() -> t.Any:
        return {
            "remote_addr": request.remote_addr,
            "scheme": request.scheme,
            "peer": request.environ.get(PEER_KEY),
            "url": url_for("who", _external=True),
        }

    return app


def who(client: FlaskClient, peer: str, **headers: str) -> dict[str, t.Any]:
    response = client.get("/who", headers=headers, environ_base={"REMOTE_ADDR": peer})
    assert response.status_code == 200
    return t.cast(dict[str, t.Any], response.get_json())


def test_the_client_behind_a_trusted_proxy_is_the_remote_address(client: FlaskClient) -> None:
    seen = who(client, NGINX, **{"X-Forwarded-For": "203.0.113.7"})

    assert seen["remote_addr"] == "203.0.113.7"
    assert seen["peer"] == NGINX


def test_only_the_entry_the_proxy_wrote_is_believed(client: FlaskClient) -> None:
    # The client sent its own X-Forwarded-For; nginx appended the address it saw.
    seen = who(client, NGINX, **{"X-Forwarded-For": "1.1.1.1, 9.9.9.9, 203.0.113.7"})

    assert seen["remote_addr"] == "203.0.113.7"


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(client: FlaskClient) -> None:
    seen = who(
        client, "198.51.100.1", **{"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    )

    assert seen["remote_addr"] == "198.51.100.1"
    assert seen["scheme"] == "http"
    assert seen["peer"] is None


def test_nothing_is_trusted_by_default(app: Erlen, client: FlaskClient) -> None:
    app.config["TRUSTED_PROXIES"] = None

    seen = who(client, NGINX, **{"X-Forwarded-For": "203.0.113.7"})

    assert seen["remote_addr"] == NGINX


def test_an_empty_list_trusts_nobody(app: Erlen, client: FlaskClient) -> None:
    app.config["TRUSTED_PROXIES"] = []

    assert who(client, NGINX, **{"X-Forwarded-For": "203.0.113.7"})["remote_addr"] == NGINX


def test_the_scheme_comes_from_the_proxy(client: FlaskClient) -> None:
    seen = who(client, NGINX, **{"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})

    assert seen["scheme"] == "https"
    assert seen["url"].startswith("https://")


@pytest.mark.parametrize("proto", ["gopher", "", "https, javascript"])
def test_a_scheme_other_than_http_or_https_is_ignored(client: FlaskClient, proto: str) -> None:
    assert who(client, NGINX, **{"X-Forwarded-Proto": proto})["scheme"] == "http"


def test_two_hops_walk_past_trusted_proxies_only(app: Erlen, client: FlaskClient) -> None:
    # A load balancer (10.0.0.9) in front of nginx: two entries were written by proxies.
    app.config.update(TRUSTED_PROXIES="10.0.0.0/24", TRUSTED_PROXY_HOPS=2)

    behind_both = who(client, NGINX, **{"X-Forwarded-For": "6.6.6.6, 203.0.113.7, 10.0.0.9"})
    # Not past an address that isn't a proxy, whatever the hop count.
    spoofed = who(client, NGINX, **{"X-Forwarded-For": "6.6.6.6, 203.0.113.7"})

    assert behind_both["remote_addr"] == "203.0.113.7"
    assert spoofed["remote_addr"] == "203.0.113.7"


@pytest.mark.parametrize("forwarded", ["not-an-ip", "203.0.113.7, <script>", " , ", "999.1.1.1"])
def test_garbage_in_x_forwarded_for_keeps_the_peer(client: FlaskClient, forwarded: str) -> None:
    assert who(client, NGINX, **{"X-Forwarded-For": forwarded})["remote_addr"] == NGINX


def test_ipv6_proxies_and_clients(app: Erlen, client: FlaskClient) -> None:
    app.config["TRUSTED_PROXIES"] = ["::1", "fd00::/8"]

    assert who(client, "::1", **{"X-Forwarded-For": "2001:db8::7"})["remote_addr"] == "2001:db8::7"
    assert who(client, "fd00::5", **{"X-Forwarded-For": "203.0.113.7"})["remote_addr"] == (
        "203.0.113.7"
    )


@pytest.mark.parametrize(
    ("proxies", "hops", "message"),
    [
        (["10.0.0.0/33"], 1, "TRUSTED_PROXIES: '10.0.0.0/33' is not an IP address or network"),
        ("localhost", 1, "TRUSTED_PROXIES: 'localhost' is not an IP address or network"),
        (["127.0.0.1"], 0, "TRUSTED_PROXY_HOPS: must be a whole number >= 1, got 0"),
        (["127.0.0.1"], "2", "TRUSTED_PROXY_HOPS: must be a whole number >= 1, got '2'"),
    ],
)
def test_bad_settings_are_errors_naming_the_setting(
    proxies: t.Any, hops: t.Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TrustedProxies.from_config(proxies, hops)


def test_changing_the_setting_takes_effect(app: Erlen, client: FlaskClient) -> None:
    assert who(client, NGINX, **{"X-Forwarded-For": "203.0.113.7"})["remote_addr"] == "203.0.113.7"

    app.config["TRUSTED_PROXIES"] = ["127.0.0.1"]

    assert who(client, NGINX, **{"X-Forwarded-For": "203.0.113.7"})["remote_addr"] == NGINX


addresses = st.ip_addresses().map(str)
entries = st.lists(addresses | st.text(max_size=20), max_size=6)


@given(peer=addresses, forwarded=entries, hops=st.integers(1, 4))
def test_the_client_is_always_the_peer_or_an_entry_within_the_hops(
    peer: str, forwarded: list[str], hops: int
) -> None:
    proxies = TrustedProxies(["10.0.0.0/8", "::1"], hops=hops)
    environ = {"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": ", ".join(forwarded)}

    proxies.apply(environ)

    client = environ["REMOTE_ADDR"]
    if not proxies.is_trusted(peer):
        assert client == peer  # an untrusted peer can't forward anything
    else:
        written_by_proxies = [e.strip() for e in ", ".join(forwarded).split(",")][-hops:]
        assert client == peer or client in written_by_proxies
