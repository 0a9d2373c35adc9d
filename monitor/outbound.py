"""The outbound guard: modelwatch only connects where an operator allows it to.

A spec author chooses where modelwatch sends requests (an alert channel's URL, an SMTP relay,
``service.health_url``, an MLflow ``tracking_uri``), and the worker sending them sits inside the
operator's network. Without a guard anyone who may apply a spec can make the worker poll a
loopback admin port or read the cloud metadata address (issue 12, finding 7). So every
destination a spec names is resolved and refused when any of its addresses is loopback,
private (RFC 1918, IPv6 ULA), link-local (169.254.0.0/16, fe80::/10, the cloud metadata
address), unspecified, multicast, reserved or otherwise not globally routable:

- at ``modelwatch apply`` (:func:`spec_problems`): a clear error naming the field and the address;
- at send time (:func:`http_client`, :func:`smtp_class`, :func:`check_url`): DNS can change
  between apply and send, so the address is resolved again and the connection is made to the
  very address that was checked (httpx and smtplib connect to the checked IP; TLS still
  verifies the host name), never to a second lookup.

An operator allows internal destinations explicitly, as MLflow's ``MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS``
does: ``MODELWATCH_OUTBOUND_ALLOW_PRIVATE=true`` turns the address check off (except for the
cloud metadata addresses, which only an explicit allow entry opens), and
``MODELWATCH_OUTBOUND_ALLOW=10.0.0.0/8,alertmanager.internal`` allows networks (CIDR or one
address) and host names (exact, or ``*.corp.example`` for a domain's hosts).

>>> policy = Policy.parse(allow="10.1.0.0/16,alertmanager.internal")
>>> policy.refusal(ip_address("10.1.2.3")), policy.refusal(ip_address("10.2.0.1"))
(None, 'a private address')
>>> policy.refusal(ip_address("169.254.169.254")), policy.refusal(ip_address("93.184.216.34"))
('a link-local address (the cloud metadata service)', None)
"""

from __future__ import annotations

import functools
import smtplib
import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from monitor.errors import ModelwatchError

if TYPE_CHECKING:  # httpx (and rich, which its CLI imports) at send time: `apply` only checks addresses
    import httpx

Address = IPv4Address | IPv6Address

#: Where cloud instances read their credentials (AWS, GCP, Azure, OpenStack; AWS's IPv6 one; ECS's).
METADATA = frozenset(ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2"))

_SETTINGS_HINT = ("allow it with MODELWATCH_OUTBOUND_ALLOW=<host or CIDR> or "
                  "MODELWATCH_OUTBOUND_ALLOW_PRIVATE=true (docs/alerts-and-recovery.md#outbound-destinations)")


class OutboundRefused(ModelwatchError):
    """A destination the guard does not allow. Permanent: retrying will not change the policy."""


class Unresolvable(OutboundRefused):
    """The destination's host name does not resolve (here, now)."""


def describe(address: Address) -> str | None:
    """Why ``address`` is not a public destination, or None when it is one.

    >>> describe(ip_address("127.0.0.1")), describe(ip_address("fd12::1")), describe(ip_address("8.8.8.8"))
    ('a loopback address', 'a private address', None)
    """
    if isinstance(address, IPv6Address) and address.ipv4_mapped:
        return describe(address.ipv4_mapped)
    if address in METADATA:
        return "a link-local address (the cloud metadata service)"
    for test, name in (("is_unspecified", "an unspecified address"), ("is_loopback", "a loopback address"),
                       ("is_link_local", "a link-local address"), ("is_multicast", "a multicast address"),
                       ("is_private", "a private address"), ("is_reserved", "a reserved address")):
        if getattr(address, test):
            return name
    return None if address.is_global else "an address that is not globally routable"


@dataclass(frozen=True)
class Policy:
    """Which destinations are allowed beyond the public internet (from the ``MODELWATCH_OUTBOUND_*`` settings)."""

    allow_private: bool = False
    networks: tuple = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, allow: str = "", allow_private: bool = False) -> "Policy":
        """``allow`` is a comma-separated list of CIDRs, addresses and host names (``*.domain`` for a domain)."""
        networks, hosts = [], set()
        for entry in (e.strip() for e in allow.split(",")):
            if not entry:
                continue
            try:
                networks.append(ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(allow_private, tuple(networks), frozenset(hosts))

    def host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return host in self.hosts or any(h.startswith("*.") and host.endswith(h[1:]) for h in self.hosts)

    def refusal(self, address: Address) -> str | None:
        """Why the guard refuses ``address`` (None: allowed)."""
        if any(address in network for network in self.networks):
            return None
        reason = describe(address)
        if reason is None or (self.allow_private and address not in METADATA):
            return None
        return reason

    def resolve(self, host: str, port: int, field: str) -> list[str]:
        """Every address ``host`` resolves to, checked; raises :class:`OutboundRefused` naming ``field``.

        All addresses are checked, not only the first: a name that resolves to one public and one
        private address would otherwise be a coin toss.
        """
        host = host.strip("[]")
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise Unresolvable(f"{field}: cannot resolve host {host!r}: {exc}") from None
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        if self.host_allowed(host):
            return addresses
        for text in addresses:
            reason = self.refusal(ip_address(text.split("%")[0]))
            if reason:
                shown = host if host == text else f"{host} resolves to {text},"
                raise OutboundRefused(f"{field}: {shown} {reason}; modelwatch does not connect there "
                                      f"unless an operator allows it: {_SETTINGS_HINT}")
        return addresses


@functools.cache
def _policy_of(allow: str, allow_private: bool) -> Policy:
    return Policy.parse(allow, allow_private)


def policy() -> Policy:
    """The process's policy from its settings (``MODELWATCH_OUTBOUND_ALLOW``, ``..._ALLOW_PRIVATE``)."""
    from monitor.config import get_settings

    settings = get_settings()
    return _policy_of(settings.outbound_allow, settings.outbound_allow_private)


def url_host(url: str) -> tuple[str, int]:
    """The host and port an http(s) URL connects to."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise OutboundRefused(f"{url!r} has no host")
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def check_url(url: str, field: str, guard: Policy | None = None) -> list[str]:
    """Resolve and check the host of ``url``; the checked addresses (raises :class:`OutboundRefused`)."""
    host, port = url_host(url)
    return (guard or policy()).resolve(host, port, field)


# -- send time: connect to the address that was checked ------------------------------------------

@functools.cache
def _checked_backend() -> type:
    """httpcore's network backend, connecting to the checked address of the host it was asked for
    (a class made on first send: importing httpcore is for the processes that send)."""
    import httpcore

    class CheckedBackend(httpcore.SyncBackend):
        def __init__(self, guard: Policy, field: str):
            self.guard, self.field = guard, field

        def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
            address = self.guard.resolve(host, port, self.field)[0]
            return super().connect_tcp(address, port, timeout, local_address, socket_options)

        def connect_unix_socket(self, path, timeout=None, socket_options=None):
            raise OutboundRefused(f"{self.field}: unix sockets are not an outbound destination")

    return CheckedBackend


def http_client(field: str, timeout: float, guard: Policy | None = None, **options) -> httpx.Client:
    """An httpx client whose every connection goes to a checked address (redirects off).

    TLS still verifies the URL's host name: httpcore takes the server name from the request,
    not from the address it connected to. With a transport given, httpx ignores proxy variables
    (``HTTPS_PROXY``): a proxy would resolve the name itself, past the check.
    """
    import httpx

    transport = httpx.HTTPTransport()
    transport._pool._network_backend = _checked_backend()(guard or policy(), field)  # httpcore's one seam
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False, **options)


def smtp_class(field: str, ssl: bool, guard: Policy | None = None) -> type[smtplib.SMTP]:
    """``smtplib.SMTP`` (or ``SMTP_SSL``) that connects only to the relay's checked address."""
    base = smtplib.SMTP_SSL if ssl else smtplib.SMTP
    checked = guard or policy()

    class CheckedSMTP(base):
        def _get_socket(self, host, port, timeout):
            address = checked.resolve(host, port, field)[0]
            return super()._get_socket(address, port, timeout)  # SNI and certificate: self._host

    return CheckedSMTP


# -- apply time: every destination a spec names ----------------------------------------------------

def destinations(spec) -> list[tuple[str, str, int]]:
    """``(field, host, port)`` of every place ``spec`` makes modelwatch connect to."""
    found: list[tuple[str, str, int]] = []

    def add_url(field: str, url: str | None) -> None:
        if url and url.startswith(("http://", "https://")):
            try:
                found.append((field, *url_host(url)))
            except (OutboundRefused, ValueError):
                pass  # the spec's own validation names a malformed URL

    for index, entry in enumerate(spec.alerts):
        field = f"alerts[{index}].{entry.type}"
        if isinstance(entry.config.get("url"), str):
            add_url(f"{field}.url", entry.config["url"])
        if entry.type == "email":
            config = entry.parsed()
            found.append((f"{field}.host", config.host, config.port))
    if spec.service is not None:
        add_url("service.health_url", spec.service.health_url)
    if spec.registry.kind == "mlflow":
        add_url("registry.tracking_uri", spec.registry.tracking_uri)
    return found


def spec_problems(spec, guard: Policy | None = None) -> list[str]:
    """What the guard refuses in ``spec``, each naming the model, the field and the address.

    A host that does not resolve here is not refused at apply (the machine applying may not see
    the workers' DNS); the send-time check refuses it then if it resolves somewhere it may not.
    """
    guard = guard or policy()
    problems = []
    for field, host, port in destinations(spec):
        try:
            guard.resolve(host, port, field)
        except Unresolvable:
            continue
        except OutboundRefused as exc:
            problems.append(f'model "{spec.name}", field {exc}')
    return problems
