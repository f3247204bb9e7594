"""The session-wide network guard: in replay (and under ``--anyint-emulator``) nothing leaves the machine.

The httpx/httpx2 interceptor only sees what goes through those transports; urllib, requests,
raw sockets and a client built in a module-scoped fixture do not. So the guard sits one level
lower, on the socket module, and is installed once per session (nothing runs per test):
``socket.socket.connect`` / ``connect_ex`` / ``sendto`` refuse a non-loopback address, and
``socket.getaddrinfo`` / ``gethostbyname(_ex)`` refuse to look a non-loopback name up, so not
even a DNS query goes out. Loopback (127.0.0.0/8, ::1, ``localhost``), unix sockets and the
hosts the user allows (``--anyint-allow-host``, ini ``anyint_allow_hosts``) pass.

A refusal raises ``NetworkRefused`` (a ``RuntimeError``, not an ``OSError``, so HTTP libraries
do not retry it or wrap it as a temporary connection error) and is noted, so the plugin can
fail the test with the one line even when the app swallowed the exception.

pytest-socket blocks per test and names its own options; this guard must name the anyint ones,
also guard DNS, and cost nothing per test, so it is written here (about a hundred lines).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any

from ..text import lazy_pattern

ALLOW_OPTION = "--anyint-allow-host"
ALLOW_INI = "anyint_allow_hosts"


class NetworkRefused(RuntimeError):
    """A connection or lookup the guard refused; the message names the host and the way to allow it."""


class _Guard:
    def __init__(self, why: str, allowed: Iterable[str], advice: Callable[[str], str | None] | None = None) -> None:
        self.why = why
        #: Advice for hosts that allowing would be wrong for (the gateway itself), else None.
        self.advice = advice
        self.names: set[str] = set()
        self.networks: list[Any] = []
        for entry in allowed:
            add_allowed(self, entry)
        #: Addresses that allowed names resolved to (a connect to them passes).
        self.addresses: set[str] = set()
        #: Every refusal since the plugin last looked (``take_refusals``).
        self.refusals: list[str] = []

    def allows(self, host: str) -> bool:
        if is_loopback(host):
            return True
        bare = _bare(host)
        if bare in self.names or bare in self.addresses:
            return True
        if self.networks:
            try:
                address = ipaddress.ip_address(bare)
            except ValueError:
                return False
            return any(address in network for network in self.networks)
        return False

    def refuse(self, host: str, port: Any = None) -> NetworkRefused:
        where = f"{host}:{port}" if port not in (None, 0) else host
        advice = self.advice(_bare(host)) if self.advice is not None else None
        message = f"pytest-anyint refused a connection to {where}: {self.why}; " + (
            advice or f"if this host is meant to be reached, allow it with {ALLOW_OPTION} {_bare(host)} "
            f"(or the ini option {ALLOW_INI})"
        )
        if message not in self.refusals:
            self.refusals.append(message)
        return NetworkRefused(message)


def add_allowed(guard: _Guard, entry: str) -> None:
    text = _bare(entry.strip())
    if not text:
        return
    if "/" in text:
        guard.networks.append(ipaddress.ip_network(text, strict=False))
    else:
        guard.names.add(text)


#: A host name (only an allowed-host entry is checked with it).
_host_name = lazy_pattern(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*")


def check_allowed(entry: str) -> str | None:
    """Why an allowed-host entry is unusable (None when it is a host name, an address or a network)."""
    text = entry.strip()
    if "/" in text:
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            return f"{entry!r} is not a network such as 10.0.0.0/8"
        return None
    bare = _bare(text)
    if bare and (_is_ip(bare) or _host_name().fullmatch(bare)):
        return None
    return f"{entry!r} is not a host name (without a port), an IP address or a network such as 10.0.0.0/8"


def _is_ip(text: Any) -> bool:
    try:
        ipaddress.ip_address(_bare(text))
    except ValueError:
        return False
    return True


def _bare(host: Any) -> str:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    text = str(host).strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return text.split("%", 1)[0].rstrip(".")


def is_loopback(host: Any) -> bool:
    """127.0.0.0/8, ::1 (also IPv4-mapped), ``localhost`` and ``*.localhost``, the wildcard address."""
    if host is None:
        return True
    text = _bare(host)
    if text in ("", "localhost") or text.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return address.is_loopback or address.is_unspecified


_guard: _Guard | None = None
#: (owner, attribute name, our wrapper) of every patched socket function.
_originals: list[tuple[Any, str, Any]] = []


def active() -> bool:
    return _guard is not None


def refusal(host: Any) -> str | None:
    """The refusal line for ``host`` if the guard is on and would refuse it (noted), else None."""
    guard = _guard
    if guard is None or guard.allows(host):
        return None
    return str(guard.refuse(_bare(host)))


def take_refusals() -> list[str]:
    """The refusals since the last call (the plugin fails the test that caused them)."""
    guard = _guard
    if guard is None or not guard.refusals:
        return []
    found, guard.refusals = guard.refusals, []
    return found


def install(why: str, allowed: Iterable[str] = (), advice: Callable[[str], str | None] | None = None) -> None:
    """Turn the guard on for this process (again: only ``why``, the allowed hosts and advice change)."""
    global _guard
    _guard = _Guard(why, allowed, advice)
    # Ours and still in place (possibly wrapped by someone since: then it still runs, in their chain).
    _originals[:] = [entry for entry in _originals if _in_chain(*entry)]
    patched = {(id(owner), name) for owner, name, _ in _originals}
    for owner, name, make in _TARGETS:
        if (id(owner), name) not in patched:
            _patch(owner, name, make)


def uninstall() -> None:
    """Turn the guard off and put the socket functions back (where nobody wrapped them since)."""
    global _guard
    _guard = None
    for entry in list(_originals):
        owner, name, wrapper = entry
        if getattr(owner, name) is wrapper:
            setattr(owner, name, wrapper.__wrapped__)
            _originals.remove(entry)
        # else: someone wrapped ours since; it stays in place, inert while the guard is off


def _in_chain(owner: Any, name: str, wrapper: Any) -> bool:
    current = getattr(owner, name, None)
    for _ in range(8):  # functools-style __wrapped__ chains, as test guards and pytest-socket build them
        if current is wrapper:
            return True
        current = getattr(current, "__wrapped__", None)
        if current is None:
            return False
    return False


def _patch(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
    real = getattr(owner, name)
    wrapper = make(real)
    wrapper.__wrapped__ = real
    wrapper.__name__ = name
    setattr(owner, name, wrapper)
    _originals.append((owner, name, wrapper))


def _address_host(sock: Any, address: Any) -> tuple[str, Any] | None:
    """(host, port) of an internet address; None for unix sockets and other families."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple) or not address:
        return None
    return address[0], address[1] if len(address) > 1 else None


def _connect_wrapper(real: Any) -> Any:
    def connect(self: Any, address: Any, *args: Any) -> Any:
        guard = _guard
        if guard is not None:
            target = _address_host(self, address)
            if target is not None and not guard.allows(target[0]):
                raise guard.refuse(*target)
        return real(self, address, *args)

    return connect


def _sendto_wrapper(real: Any) -> Any:
    def sendto(self: Any, data: Any, *args: Any) -> Any:
        guard = _guard
        if guard is not None and args:
            target = _address_host(self, args[-1])
            if target is not None and not guard.allows(target[0]):
                raise guard.refuse(*target)
        return real(self, data, *args)

    return sendto


def _lookup_wrapper(real: Any) -> Any:
    def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        guard = _guard
        if guard is None or host is None or is_loopback(host):
            return real(host, *args, **kwargs)
        if not guard.allows(host):
            port = args[0] if args else kwargs.get("port")
            raise guard.refuse(_bare(host), port)
        result = real(host, *args, **kwargs)
        _note_addresses(guard, result)
        return result

    return lookup


def _note_addresses(guard: _Guard, result: Any) -> None:
    """Remember what an allowed name resolved to, so connecting to those addresses passes."""
    if isinstance(result, str):  # gethostbyname
        guard.addresses.add(result)
    elif isinstance(result, tuple) and len(result) == 3 and isinstance(result[2], list):  # gethostbyname_ex
        guard.addresses.update(result[2])
    elif isinstance(result, list):  # getaddrinfo
        for entry in result:
            try:
                guard.addresses.add(_bare(entry[4][0]))
            except (IndexError, TypeError):
                continue


_TARGETS: tuple[tuple[Any, str, Callable[[Any], Any]], ...] = (
    (socket.socket, "connect", _connect_wrapper),
    (socket.socket, "connect_ex", _connect_wrapper),
    (socket.socket, "sendto", _sendto_wrapper),
    (socket, "getaddrinfo", _lookup_wrapper),
    (socket, "gethostbyname", _lookup_wrapper),
    (socket, "gethostbyname_ex", _lookup_wrapper),
)
