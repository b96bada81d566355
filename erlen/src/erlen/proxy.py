"""Requests that come through reverse proxies: the real client address and scheme.

Behind nginx every request's peer is nginx, so ``request.remote_addr`` is nginx's address:
rate limits per address become one bucket for the whole world, and logs show nobody. The
proxy says who the client was in ``X-Forwarded-For`` (and the scheme in
``X-Forwarded-Proto``), but so can any client: those headers are only believed when the
request's peer is one of the proxies the app runs behind.

Configuration (off by default; nothing is read from the headers then)::

    TRUSTED_PROXIES = ["10.0.0.0/8", "127.0.0.1"]   # or "10.0.0.0/8,127.0.0.1"
    TRUSTED_PROXY_HOPS = 1                          # proxies that append to X-Forwarded-For

When the peer is a trusted proxy, ``X-Forwarded-For`` is read from the right, the end the
app's own proxies wrote: at most ``TRUSTED_PROXY_HOPS`` entries, going further left only
past addresses that are themselves trusted proxies. The first entry that isn't one is the
client. Entries further left were written by the client and are never believed. An entry
that is not an IP address stops the walk (the last good address stays). The original
peer is kept in ``environ["erlen.proxy.peer"]``.

``X-Forwarded-Proto`` (its last value, ``http`` or ``https``) sets the URL scheme, so
``url_for(_external=True)`` and secure cookies see ``https`` behind a TLS-terminating proxy.
The ``Host`` header is left alone: proxies pass the client's (nginx: ``proxy_set_header
Host $http_host``), and ``TRUSTED_HOSTS`` checks it.
"""

from __future__ import annotations

import ipaddress
import typing as t

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIEnvironment

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Where the peer address is kept when the client's replaces it.
PEER_KEY = "erlen.proxy.peer"


class TrustedProxies:
    """The proxies an app runs behind, and how to read what they forward.

    :param proxies: addresses and networks (``"10.0.0.0/8"``, ``"127.0.0.1"``, ``"::1"``).
    :param hops: how many ``X-Forwarded-For`` entries, from the right, the proxies wrote.
    :raise ValueError: an entry is not an address or a network, or ``hops`` is below 1;
        the message names it.
    """

    __slots__ = ("networks", "hops", "_verdicts")

    def __init__(self, proxies: t.Iterable[str], *, hops: int = 1) -> None:
        networks: list[_Network] = []
        for entry in proxies:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise ValueError(
                    f"TRUSTED_PROXIES: {entry!r} is not an IP address or network"
                    " (like 10.0.0.0/8 or 127.0.0.1)."
                ) from None
        if not networks:
            raise ValueError("TRUSTED_PROXIES: no proxy given.")
        if isinstance(hops, bool) or not isinstance(hops, int) or hops < 1:
            raise ValueError(f"TRUSTED_PROXY_HOPS: must be a whole number >= 1, got {hops!r}.")
        self.networks = tuple(networks)
        self.hops = hops
        # Peers are few (the proxies themselves): remember each one's verdict.
        self._verdicts: dict[str, bool] = {}

    @classmethod
    def from_config(cls, proxies: t.Any, hops: t.Any = 1) -> TrustedProxies | None:
        """Build from the ``TRUSTED_PROXIES`` and ``TRUSTED_PROXY_HOPS`` values.

        ``proxies`` is a list of strings or one comma-separated string; ``None`` or empty
        means no proxy is trusted (``None`` is returned).
        """
        if proxies is None:
            return None
        if isinstance(proxies, str):
            proxies = [p for p in proxies.split(",") if p.strip()]
        else:
            proxies = list(proxies)
        if not proxies:
            return None
        return cls(proxies, hops=hops)

    def is_trusted(self, address: str) -> bool:
        """Whether ``address`` (an IP address as text) is one of the trusted proxies."""
        verdict = self._verdicts.get(address)
        if verdict is None:
            ip = _ip(address)
            verdict = ip is not None and any(ip in network for network in self.networks)
            if len(self._verdicts) < 1024:  # bounded: forwarded entries pass through here too
                self._verdicts[address] = verdict
        return verdict

    def client_address(self, peer: str, forwarded_for: str) -> str:
        """The client's address, given the peer (a trusted proxy) and ``X-Forwarded-For``."""
        client = peer
        entries = forwarded_for.split(",")
        for hop in range(min(self.hops, len(entries))):
            entry = entries[-1 - hop].strip()
            if _ip(entry) is None:
                break
            client = entry
            if not self.is_trusted(entry):
                break
        return client

    def apply(self, environ: WSGIEnvironment) -> None:
        """Set ``REMOTE_ADDR`` and ``wsgi.url_scheme`` from the forwarded headers, if the
        peer is trusted."""
        peer = environ.get("REMOTE_ADDR")
        if not peer or not self.is_trusted(peer):
            return
        forwarded_for = environ.get("HTTP_X_FORWARDED_FOR")
        if forwarded_for:
            client = self.client_address(peer, forwarded_for)
            if client != peer:
                environ[PEER_KEY] = peer
                environ["REMOTE_ADDR"] = client
        proto = environ.get("HTTP_X_FORWARDED_PROTO")
        if proto:
            scheme = proto.rsplit(",", 1)[-1].strip().lower()
            if scheme in ("http", "https"):
                environ["wsgi.url_scheme"] = scheme


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
