"""The app's SDK clients: built once and shared, pointed at the AnyInt gateway.

Building an SDK client costs about 20 ms (TLS set-up), more than a whole replayed test, so one
``Clients`` object lives for the process (or, in tests, for a module) and every workload borrows
from it. Each client is built on first use, so a process that only chats never builds the Gemini one.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any

DEFAULT_GATEWAY = "https://gateway.api.anyint.ai"
ANTHROPIC_VERSION = "2023-06-01"


def sdk_kwargs(family: str, gateway_url: str, api_key: str) -> dict[str, Any]:
    """How each official SDK must be pointed at the gateway, as the gateway documents it.

    - openai: base URL ``…/openai/v1``, Bearer auth (the SDK's default).
    - anthropic: base URL ``…/anthropic``; the gateway wants ``x-api-key`` with
      ``anthropic-version: 2023-06-01``, the SDK would send Bearer and a newer version.
    - gemini: base URL ``…/gemini`` with ``api_version="v1beta"`` (google-genai's default ``v1``
      is not a published route) and Bearer auth instead of ``x-goog-api-key``.
    """
    root = gateway_url.rstrip("/")
    if family == "openai":
        return {"base_url": f"{root}/openai/v1", "api_key": api_key}
    if family == "anthropic":
        from anthropic import Omit

        # Omit() drops the Bearer copy of the key that the SDK would add.
        headers = {"x-api-key": api_key, "anthropic-version": ANTHROPIC_VERSION, "Authorization": Omit()}
        return {"base_url": f"{root}/anthropic", "api_key": api_key, "default_headers": headers}
    if family == "gemini":
        http_options = {
            "base_url": f"{root}/gemini",
            "api_version": "v1beta",
            "headers": {"Authorization": f"Bearer {api_key}"},
        }
        return {"api_key": api_key, "http_options": http_options}
    raise ValueError(f"no SDK for family {family!r}; expected openai, anthropic or gemini")


class Clients:
    """The SDK clients of the app, one per family (sync and async), built on first use.

    ``kwargs_for(family)`` gives each SDK's keyword arguments: :func:`sdk_kwargs` in production
    (:meth:`from_env`), the test plugin's ``anyint_gateway.sdk_kwargs`` in tests.
    """

    def __init__(
        self,
        kwargs_for: Callable[[str], Mapping[str, Any]],
        *,
        max_retries: int = 2,
        timeout_s: float = 60.0,
    ) -> None:
        self._kwargs_for = kwargs_for
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        # Async clients hold connections bound to the event loop that opened them.
        self._async: dict[str, weakref.WeakKeyDictionary[Any, Any]] = {}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> Clients:
        """Production: the key from ``ANYINT_API_KEY``, the gateway from ``ANYINT_BASE_URL`` (optional)."""
        environ = os.environ if environ is None else environ
        key = environ.get("ANYINT_API_KEY")
        if not key:
            raise RuntimeError("set ANYINT_API_KEY to the AnyInt gateway key")
        url = environ.get("ANYINT_BASE_URL") or DEFAULT_GATEWAY
        return cls(lambda family: sdk_kwargs(family, url, key), **options)

    # ---- sync

    @cached_property
    def openai(self) -> Any:
        from openai import OpenAI

        return OpenAI(**self._kwargs_for("openai"), max_retries=self.max_retries, timeout=self.timeout_s)

    @cached_property
    def anthropic(self) -> Any:
        from anthropic import Anthropic

        return Anthropic(**self._kwargs_for("anthropic"), max_retries=self.max_retries, timeout=self.timeout_s)

    @cached_property
    def genai(self) -> Any:
        """google-genai; ``.aio`` is its async face. It retries nothing by default: the chain does."""
        from google import genai

        kwargs = dict(self._kwargs_for("gemini"))
        http_options = {**kwargs.pop("http_options", {}), "timeout": int(self.timeout_s * 1000)}  # milliseconds
        return genai.Client(**kwargs, http_options=http_options)

    # ---- async (one client per running event loop)

    @property
    def async_openai(self) -> Any:
        def build() -> Any:
            from openai import AsyncOpenAI

            return AsyncOpenAI(**self._kwargs_for("openai"), max_retries=self.max_retries, timeout=self.timeout_s)

        return self._for_loop("openai", build)

    @property
    def async_anthropic(self) -> Any:
        def build() -> Any:
            from anthropic import AsyncAnthropic

            return AsyncAnthropic(**self._kwargs_for("anthropic"), max_retries=self.max_retries, timeout=self.timeout_s)

        return self._for_loop("anthropic", build)

    def _for_loop(self, name: str, build: Callable[[], Any]) -> Any:
        loop = asyncio.get_running_loop()
        per_loop = self._async.setdefault(name, weakref.WeakKeyDictionary())
        client = per_loop.get(loop)
        if client is None:
            client = per_loop[loop] = build()
        return client

    def close(self) -> None:
        """Close the sync clients that were built (async ones close with their event loop)."""
        for name in ("openai", "anthropic", "genai"):
            client = self.__dict__.pop(name, None)
            if client is not None:
                client.close()
