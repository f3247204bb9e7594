"""httpx transports that build their TLS context and connection pool when first used, not when made.

An ``httpx.HTTPTransport`` (every ``httpx.Client()`` and every SDK client makes one) imports
httpcore and loads the CA bundle into a new TLS context as it is constructed: about 50 ms per
client and 35 ms for the first import on a CI machine, often more than a replayed test costs
altogether. A replayed request is answered before the transport touches its pool, so in a
session with route cases the pool is built at the first request that really goes to the network,
or never. The transport keeps the arguments it was made with; anything that reads its pool (the
network path, ``respx``, a test looking at ``transport._pool``) builds it first, with exactly those
arguments, so it behaves as an eager one would. What moves is when a bad argument is reported: a
missing CA file or ``http2=True`` without ``h2`` fails at that first network request instead of
at ``httpx.Client(...)``.
"""

from __future__ import annotations

import threading
from typing import Any

#: The constructor arguments of a transport whose pool is not built yet (in its ``__dict__``).
_PENDING = "_anyint_pending_init"
_LOCK = threading.RLock()


def defer_pools(cls: Any, *, asynchronous: bool) -> None:
    """Make ``cls`` (httpx's or httpx2's HTTPTransport or AsyncHTTPTransport) build its pool lazily."""
    if getattr(cls, "_anyint_lazy_pool", False):
        return
    real_init = cls.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        self.__dict__[_PENDING] = (args, kwargs)

    def __getattr__(self: Any, name: str) -> Any:
        # Only reached for an attribute the instance lacks: the pool, before it is built.
        if name.startswith("__"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        with _LOCK:  # another thread's first request may be building it: wait for that pool
            pending = self.__dict__.pop(_PENDING, None)
            if pending is not None:
                try:
                    real_init(self, *pending[0], **pending[1])
                except BaseException:
                    self.__dict__[_PENDING] = pending  # the next use reports the same error again
                    raise
        return object.__getattribute__(self, name)

    cls.__init__ = __init__
    cls.__getattr__ = __getattr__
    cls._anyint_lazy_pool = True
    cls.__init__.__wrapped__ = real_init

    if asynchronous:
        _skip_unbuilt_async(cls)
    else:
        _skip_unbuilt_sync(cls)


def built(transport: Any) -> bool:
    """Whether the transport's pool exists (eager, or built by a first use)."""
    return _PENDING not in transport.__dict__


def _skip_unbuilt_sync(cls: Any) -> None:
    """Entering, leaving or closing a transport that never built its pool has nothing to do: it
    must not build one (and load a CA bundle) only to close it."""
    real_enter, real_exit, real_close = cls.__enter__, cls.__exit__, cls.close

    def __enter__(self: Any) -> Any:
        return self if _PENDING in self.__dict__ else real_enter(self)

    def __exit__(self: Any, *exc: Any) -> None:
        if _PENDING not in self.__dict__:
            real_exit(self, *exc)

    def close(self: Any) -> None:
        if _PENDING not in self.__dict__:
            real_close(self)

    cls.__enter__, cls.__exit__, cls.close = __enter__, __exit__, close


def _skip_unbuilt_async(cls: Any) -> None:
    real_enter, real_exit, real_close = cls.__aenter__, cls.__aexit__, cls.aclose

    async def __aenter__(self: Any) -> Any:
        return self if _PENDING in self.__dict__ else await real_enter(self)

    async def __aexit__(self: Any, *exc: Any) -> None:
        if _PENDING not in self.__dict__:
            await real_exit(self, *exc)

    async def aclose(self: Any) -> None:
        if _PENDING not in self.__dict__:
            await real_close(self)

    cls.__aenter__, cls.__aexit__, cls.aclose = __aenter__, __aexit__, aclose
