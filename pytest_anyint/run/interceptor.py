"""The one session-level wrapper around the httpx and httpx2 transports.

Every gateway request of a route-marked test passes through here once, and is answered, in order,
by the test's fault plan, then its cassette (vcrpy's ``Cassette``), then — only when recording —
the network. That single place is where the call trail, the requested-model check, the
published-route check, contract validation and latency measurement live. Patching happens once
per session (not per test, as vcrpy's own patchers would), and requests of tests that are not
route-marked pass straight through.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from .. import cassettes, sse
from ..calls import Call
from ..cassettes.timing import paced_stream, recorded_ttft, stream_timing
from ..families import FAMILIES, Family, gateway_error, read_request, stream_served_model
from .context import CaseContext, origin_of

_active: CaseContext | None = None
_installed = False
#: Under --anyint-emulator: (the gateway's host names, the emulator's scheme, host, port).
_redirect: tuple[frozenset[str], str, str, int] | None = None
#: Guards matching-and-marking a recording as played, and appending one (app threads share a case).
_CASSETTE_LOCK = threading.Lock()


def activate(context: CaseContext | None) -> None:
    """Make ``context`` the running case (None: pass every request through)."""
    global _active
    install()
    _guard_other_transports()
    _active = context


def redirect_to_emulator(hosts: Any, emulator_url: str | None) -> None:
    """Serve requests to the gateway's hosts from the emulator (None: stop).

    Under ``--anyint-emulator`` a client the app builds from its own settings still names the real
    gateway; its requests go to the emulator instead, in and outside route cases alike.
    """
    global _redirect
    if emulator_url is None:
        _redirect = None
        return
    parts = urllib.parse.urlsplit(emulator_url)
    _redirect = (frozenset(h.lower() for h in hosts), parts.scheme, parts.hostname or "127.0.0.1", parts.port or 80)


def _redirected(request: Any) -> None:
    assert _redirect is not None
    hosts, scheme, host, port = _redirect
    url = request.url
    if url.host.lower() not in hosts:
        return
    request.url = url.copy_with(scheme=scheme, host=host, port=port)
    if "host" in request.headers:
        request.headers["host"] = f"{host}:{port}"


# --------------------------------------------------------------------------- patching


def install() -> None:
    """Wrap the httpx and httpx2 transports, once per process; the transports made from then on
    build their connection pools at their first network request (``lazy_pools``)."""
    global _installed
    if _installed:
        return
    _installed = True
    from .lazy_pools import defer_pools

    for name in ("httpx", "httpx2"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        _wrap_sync(module.HTTPTransport, module)
        _wrap_async(module.AsyncHTTPTransport, module)
        defer_pools(module.HTTPTransport, asynchronous=False)
        defer_pools(module.AsyncHTTPTransport, asynchronous=True)


def _wrap_sync(cls: Any, httpx_mod: Any) -> None:  # httpx's or httpx2's HTTPTransport
    real = cls.handle_request

    def handle_request(self: Any, request: Any) -> Any:
        if _redirect is not None:
            _redirected(request)
        context = _active
        if context is None or not context.admits(request.url):
            return real(self, request)
        exchange = _Exchange(context, request, httpx_mod)
        early = exchange.prepare(request.read())
        if early is not None:
            if exchange.played is not None:  # verify: the recorded answer, compared with the live one
                exchange.verify_live(lambda: real(self, request))
            return early
        exchange.prepare_network()
        started = time.perf_counter()
        response = real(self, request)
        headers_at = time.perf_counter()
        try:
            raw = exchange.read_stream(response.stream, started)
        finally:
            response.close()
        return exchange.record(response, raw, started, headers_at, time.perf_counter())

    handle_request.__wrapped__ = real  # type: ignore[attr-defined]
    cls.handle_request = handle_request


def _wrap_async(cls: Any, httpx_mod: Any) -> None:  # httpx's or httpx2's AsyncHTTPTransport
    real = cls.handle_async_request

    async def handle_async_request(self: Any, request: Any) -> Any:
        if _redirect is not None:
            _redirected(request)
        context = _active
        if context is None or not context.admits(request.url):
            return await real(self, request)
        exchange = _Exchange(context, request, httpx_mod)
        early = exchange.prepare(await request.aread())
        if early is not None:
            if exchange.played is not None:  # verify: the recorded answer, compared with the live one
                await exchange.averify_live(lambda: real(self, request))
            return early
        exchange.prepare_network()
        started = time.perf_counter()
        response = await real(self, request)
        headers_at = time.perf_counter()
        try:
            raw = await exchange.aread_stream(response.stream, started)
        finally:
            await response.aclose()
        return exchange.record(response, raw, started, headers_at, time.perf_counter())

    handle_async_request.__wrapped__ = real  # type: ignore[attr-defined]
    cls.handle_async_request = handle_async_request


_UNCOVERED_HINT = (
    "pytest-anyint intercepts httpx and httpx2 only: pass an httpx2 client instead "
    "(for google-genai: http_options={{'httpx_async_client': httpx2.AsyncClient()}} or uninstall aiohttp; "
    "for requests-based code: use httpx)"
)


def _guard_other_transports() -> None:
    """Refuse gateway requests made through transports the interceptor does not cover."""
    requests_mod = sys.modules.get("requests.adapters")
    if requests_mod is not None and not getattr(requests_mod.HTTPAdapter.send, "_anyint_guard", False):
        real_send = requests_mod.HTTPAdapter.send

        def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            context = _active
            if context is not None and context.is_gateway(request.url):
                raise context.fail(
                    f"{context.test_id}: a gateway request went through requests ({request.method} "
                    f"{urllib.parse.urlsplit(request.url).path}); " + _UNCOVERED_HINT.replace("{{", "{").replace("}}", "}")
                )
            return real_send(self, request, *args, **kwargs)

        send._anyint_guard = True  # type: ignore[attr-defined]
        requests_mod.HTTPAdapter.send = send
    aiohttp_mod = sys.modules.get("aiohttp")
    if aiohttp_mod is not None and not getattr(aiohttp_mod.ClientSession._request, "_anyint_guard", False):
        real_request = aiohttp_mod.ClientSession._request

        async def _request(self: Any, method: str, str_or_url: Any, *args: Any, **kwargs: Any) -> Any:
            context = _active
            if context is not None and context.is_gateway(str(str_or_url)):
                raise context.fail(
                    f"{context.test_id}: a gateway request went through aiohttp ({method} "
                    f"{urllib.parse.urlsplit(str(str_or_url)).path}); " + _UNCOVERED_HINT.replace("{{", "{").replace("}}", "}")
                )
            return await real_request(self, method, str_or_url, *args, **kwargs)

        _request._anyint_guard = True  # type: ignore[attr-defined]
        aiohttp_mod.ClientSession._request = _request


# --------------------------------------------------------------------------- one exchange


class _Exchange:
    """One request of a running case, from the first check to the response the app receives."""

    def __init__(self, context: CaseContext, request: Any, httpx_mod: Any) -> None:
        self.context = context
        self.request = request
        self.httpx = httpx_mod
        self.call: Call | None = None
        self.family: Family | None = None
        self.vcr_request: Any = None
        #: Under verify: (the interaction number, its recorded response) the app was answered with.
        self.played: tuple[int, Mapping[str, Any]] | None = None
        #: (bytes so far, seconds since the request start) per chunk read from the network.
        self.marks: list[tuple[int, float]] = []

    # ---- before the network

    def prepare(self, body: bytes) -> Any | None:
        """Answer from a fault or the cassette, refuse, or return None to go to the network."""
        context, request = self.context, self.request
        url = request.url
        path = url.path
        facts = read_request(path, url.query, body)  # the body is parsed once: the model it names, stream or not
        self.family = facts.family
        call = self.call = Call(
            model=facts.model,
            family=self.family.name if self.family else None,
            method=request.method,
            endpoint=path,
            stream=facts.stream,
        )
        context.trail.append(call)
        self._check_request(call, path)
        if context.faults is not None:
            fault = context.faults.take(call)
            if fault is not None:
                call.source = "fault"
                call.fault = fault.label
                call.latency_s = 0.0
                try:
                    response = fault.respond(call, request, self.httpx)  # may raise a transport error
                except ValueError as exc:  # an answer fault on an endpoint that carries no answer
                    raise context.fail(f"{context.test_id}: {exc}") from None
                call.status = getattr(response, "status_code", None)
                return response
        self.vcr_request = self._vcr_request(body)
        cassette = context.cassette
        # What Cassette.can_play_response_for asks, with one matching pass instead of two.
        if cassette.rewound and cassette.record_mode != "all":
            # vcrpy's play_response finds the first unplayed match, then marks it played: two
            # threads sending the same request could both be served one recording.
            with _CASSETTE_LOCK:
                response = _unplayed_response(cassette, self.vcr_request)
            if response is not None:
                return self._play(response)
        if context.mode == "none" or cassette.write_protected:
            return self._refuse_unrecorded(call)
        return None

    def _refuse_unrecorded(self, call: Call) -> Any:
        """Answer a request that has no recording with a final 404, not a connection error.

        An exception would reach the app as a connection error, which SDKs retry with backoff and
        fallback chains treat as temporary; a 404 with ``x-should-retry: false`` stops both, and the
        test fails with the message that says how to record it.
        """
        message = self._miss_message(call)
        self.context.fail(message)
        call.source = "refused"
        call.status = 404
        family = self.family.name if self.family else "openai"
        body = FAMILIES[family].native_error(404, None) if family in ("anthropic", "gemini") else gateway_error(404, message)
        return self.httpx.Response(
            404,
            headers={"content-type": "application/json", "x-should-retry": "false"},
            content=json.dumps(body).encode(),
        )

    def prepare_network(self) -> None:
        """Record mode: ask for encodings the plugin can decode, and bound the wait for a stream."""
        self._bound_request()
        assert self.call is not None
        self.call.source = "network"

    def _bound_request(self) -> None:
        self.request.headers["accept-encoding"] = "gzip, deflate"
        timeout = dict(self.request.extensions.get("timeout") or {})
        read = timeout.get("read")
        timeout["read"] = self.context.stream_timeout_s if read is None else min(read, self.context.stream_timeout_s)
        self.request.extensions["timeout"] = timeout

    def verify_live(self, send: Callable[[], Any]) -> None:
        """Verify mode: ask the live gateway too, and check its answer (``verify``)."""
        from . import verify

        assert self.call is not None and self.played is not None
        self._bound_request()
        verify.run_sync(self.context, self.call, self.played, self.httpx, send, self.read_stream)

    async def averify_live(self, send: Callable[[], Awaitable[Any]]) -> None:
        from . import verify

        assert self.call is not None and self.played is not None
        self._bound_request()
        await verify.run_async(self.context, self.call, self.played, self.httpx, send, self.aread_stream)

    def _check_request(self, call: Call, path: str) -> None:
        context = self.context
        if context.contracts is not None:
            problem = context.contracts.check_request(call, self.request.method, path)
            if problem:
                raise context.fail(f"{context.test_id}: {problem}")
        if self.family is not None:
            self._check_auth(self.family, path)
        if call.model is None:
            return
        if call.model not in context.chain:
            raise context.fail(
                f"{context.test_id}: the app requested model {call.model!r} ({call.method} {path}), which is not in "
                f"route {context.route_label!r} (chain: {', '.join(context.chain)}); pass anyint_route.model "
                f"instead of a hard-coded ID"
            )
        named = [c for c in context.trail if c.model is not None]
        if context.case_model is not None and named[0] is call and call.model != context.case_model:
            raise context.fail(
                f"{context.test_id}: the case runs {context.case_model!r}, but the app's first request named "
                f"{call.model!r} ({call.method} {path}); build the request from anyint_route.model"
            )

    def _check_auth(self, family: Family, path: str) -> None:
        """The key's form against the family table: documented passes, other accepted forms warn
        (assumed ones fail under ``--anyint-contracts=strict``), no accepted form refuses the request."""
        context = self.context
        headers = self.request.headers
        # The raw names: ``keys()`` decodes every name and value again on each call.
        sent = {name.decode("latin-1").lower() for name, _ in headers.raw}
        form = family.auth_form(sent)
        if form is None:
            documented = family.documented_auth
            missing = [name for name in documented.headers if name not in sent]
            others = "; ".join(f.shown for f in family.auth_forms[1:])
            raise context.fail(
                f"{context.test_id}: {self.request.method} {path} is missing the {family.name} auth header(s) "
                f"{', '.join(missing)}: the gateway expects {documented.shown} on this family"
                + (f" (also accepted, with a warning: {others})" if others else "")
                + f" (use anyint_route.headers or anyint_gateway.sdk_kwargs({family.name!r}))"
            )
        notes = [] if form.confidence == "documented" else [(form.shown, form.confidence, form.source)]
        for pinned in family.pinned_headers:
            value = headers.get(pinned.name)
            if value is not None and value != pinned.value and pinned.name in form.headers:
                notes.append((f"{pinned.name}: {value}", pinned.confidence, pinned.source))
        if notes:
            self._auth_notes(family, path, notes)

    def _auth_notes(self, family: Family, path: str, notes: list[tuple[str, str, str]]) -> None:
        """Forms the gateway does not document: one warning, or (assumed, strict mode) a failure."""
        context = self.context
        documented = family.documented_auth.shown
        assumed = [shown for shown, confidence, _ in notes if confidence == "assumed"]
        if assumed and context.auth_mode == "strict":
            context.fail(
                f"{context.test_id}: {self.request.method} {path} sends {' and '.join(assumed)}, an assumed auth "
                f"form on {family.name}; --anyint-contracts=strict fails it: send {documented} "
                f"(anyint_gateway.sdk_kwargs({family.name!r}) does)"
            )
            return
        if context.auth_mode == "off":
            return
        sent = " and ".join(f"{shown} ({confidence}: {source})" for shown, confidence, source in notes)
        message = (
            f"anyint: {family.name} requests send {sent}; the gateway documents {documented}, which "
            f"anyint_gateway.sdk_kwargs({family.name!r}) sends"
            + (f"; {' and '.join(assumed)} fails under --anyint-contracts=strict" if assumed else "")
        )
        if message not in context.warnings:
            context.warnings.append(message)

    def _vcr_request(self, body: bytes) -> Any:
        context = self.context
        return cassettes.stored_request(
            self.request.method, str(self.request.url), self.request.headers.items(), body,
            canonical_origin=context.canonical_origin, secrets=context.secrets, placeholder=context.key_placeholder,
            playback=isinstance(context.cassette, cassettes.PlaybackCassette),
        )

    def _miss_message(self, call: Call) -> str:
        context = self.context
        where = f"{call.method} {call.endpoint}" + (f" (model {call.model})" if call.model else "")
        cassette = context.cassette
        command = context.record_command
        if len(cassette) == 0 and not cassette.rewound:
            reason = f"there is no cassette {context.cassette_display}"
        else:
            # ``once`` never touches an existing cassette: only a rewrite of this test records it.
            command = context.rewrite_command or command
            reason = f"cassette {context.cassette_display} has no unplayed recording of it"
            near = cassette.find_requests_with_most_matches(self.vcr_request)
            if near:
                fails = "; ".join(f"{name}: {detail}" for name, detail in near[0][2])
                if fails:
                    reason += f" (closest recording differs in {fails})"
        return (
            f"{context.test_id}: {where} was not recorded: {reason}. Record it with: {command}"
        )

    # ---- answers

    def _play(self, response: Mapping[str, Any]) -> Any:
        context, call = self.context, self.call
        assert call is not None
        cassette = context.cassette
        index = next(i for i, (_, r) in enumerate(cassette.data) if r is response)
        body: bytes = response["body"]["string"]
        status = response["status"]["code"]
        call.source = "cassette"
        call.status = status
        timing = response.get("timing") or {}
        call.latency_s = timing.get("total_s")
        call.ttft_s = recorded_ttft(timing)
        headers = cassettes.header_items(response["headers"])
        if context.verify:  # the live answer is the one held to the contracts
            self.played = (index + 1, response)
        self._after_response(
            status, cassettes.header_value(response["headers"], "content-type"), body, index + 1, check=not context.verify,
            parsed=response["body"].get("json"),
        )
        message = response["status"].get("message")
        extensions = {"reason_phrase": message.encode("ascii", "replace")} if message else {}
        paced = paced_stream(self.httpx, body, timing, context.pace) if context.pace and call.stream else None
        stream = paced if paced is not None else self.httpx.ByteStream(body)
        return self.httpx.Response(status, headers=headers, stream=stream, extensions=extensions)

    def read_stream(self, stream: Any, started: float) -> bytes:
        chunks, received = [], 0
        for chunk in stream:
            chunks.append(chunk)
            received += len(chunk)
            self.marks.append((received, time.perf_counter() - started))
            self._check_deadline(started)
        return b"".join(chunks)

    async def aread_stream(self, stream: Any, started: float) -> bytes:
        chunks, received = [], 0
        async for chunk in stream:
            chunks.append(chunk)
            received += len(chunk)
            self.marks.append((received, time.perf_counter() - started))
            self._check_deadline(started)
        return b"".join(chunks)

    def _check_deadline(self, started: float) -> None:
        limit = self.context.stream_timeout_s
        if time.perf_counter() - started > limit:
            assert self.call is not None
            raise self.context.fail(
                f"{self.context.test_id}: {self.call.method} {self.call.endpoint} kept streaming for more than "
                f"{limit:g} s without ending; a stream that never ends fails the test instead of hanging it "
                f"(ini option anyint_stream_timeout)"
            )

    def record(self, response: Any, raw: bytes, started: float, headers_at: float, finished: float) -> Any:
        """Decode, scrub and append a network answer to the cassette; hand the app the same bytes."""
        context, call = self.context, self.call
        assert call is not None
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity", "gzip", "deflate"):
            raise context.fail(
                f"{context.test_id}: the gateway answered {call.endpoint} with content-encoding {encoding!r}, "
                f"which pytest-anyint cannot decode for scrubbing; nothing was recorded"
            )
        body = self.httpx.Response(response.status_code, headers=response.headers, content=raw).content if encoding not in ("", "identity") else raw
        headers: dict[str, list[str]] = {}
        for name, value in response.headers.multi_items():
            lower = name.lower()
            if lower in ("content-encoding", "transfer-encoding", "content-length", "date"):
                continue
            if lower in cassettes.SECRET_RESPONSE_HEADERS:
                value = context.key_placeholder
            headers.setdefault(name, []).append(cassettes.scrub_text(value, context.secrets, context.key_placeholder))
        headers["content-length"] = [str(len(body))]
        stored = body
        reason = response.reason_phrase
        if context.secrets:
            # Every form of the key (escaped, base64, any text encoding): the pre-save scan looks
            # for the same forms, so a gateway that echoes the key stays recordable.
            stored = cassettes.scrub_bytes(body, context.secrets, context.key_placeholder)
            reason = cassettes.scrub_text(reason, context.secrets, context.key_placeholder)
        timing: dict[str, Any] = {"headers_s": round(headers_at - started, 4), "total_s": round(finished - started, 4)}
        if encoding in ("", "identity") and sse.is_event_stream(response.headers.get("content-type")):
            # Each event's arrival and the time to the first answer text (offsets of the raw bytes).
            timing.update(stream_timing(body, self.marks, self.family.stream_text if self.family else None))
        vcr_response = {
            "status": {"code": response.status_code, "message": reason},
            "headers": headers,
            "body": {"string": stored},
            "timing": timing,
        }
        cassette = context.cassette
        assert not isinstance(cassette, cassettes.PlaybackCassette)  # a playback case never reaches the network
        with _CASSETTE_LOCK:
            cassette.append(self.vcr_request, vcr_response)
            interaction = len(cassette)
        call.status = response.status_code
        call.latency_s = timing["total_s"]
        call.ttft_s = timing.get("ttft_s")
        # Checks see what the cassette keeps (the key scrubbed), so a violation that quotes a value
        # can never put an echoed key into a failure message or a report.
        self._after_response(response.status_code, response.headers.get("content-type"), stored, interaction)
        return self.httpx.Response(
            response.status_code,
            headers=cassettes.header_items(headers),
            stream=self.httpx.ByteStream(body),
            extensions={"reason_phrase": response.extensions.get("reason_phrase", b"")},
        )

    def _after_response(
        self, status: int, content_type: str | None, body: bytes, interaction: int, check: bool = True, parsed: Any = None
    ) -> None:
        """``parsed``: a replayed ``json:`` body's value, which is what parsing ``body`` gives."""
        context, call = self.context, self.call
        assert call is not None
        # Parsed once, for usage and contracts alike: a JSON body, or a stream's events.
        events = sse.parse(body.decode("utf-8", "replace")) if sse.is_event_stream(content_type) else None
        if events is not None or not isinstance(parsed, (dict, list)):
            parsed = _json_body(content_type, body) if events is None else None
        if self.family is not None and 200 <= status < 300:
            try:
                _fill_usage(call, self.family, content_type, body, parsed, events)
            except (TypeError, ValueError, AttributeError):
                pass  # a drifted usage shape (e.g. a count as a string): contracts and drift report it
            if context.price is not None:
                call.cost_usd = context.price(call)
        if check and context.contracts is not None:
            context.contracts.check_response(
                call,
                method=call.method,
                path=call.endpoint,
                status=status,
                content_type=content_type,
                body=body,
                cassette=context.cassette_display,
                interaction=interaction,
                **({"parsed": parsed} if parsed is not None else {}),
                **({"events": events} if events is not None else {}),
            )


def _json_body(content_type: str | None, body: bytes) -> Any:
    """A JSON (non-stream) body parsed, or None (not JSON, a stream, or empty)."""
    if body[:1] not in (b"{", b"[") or sse.is_event_stream(content_type):
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _unplayed_response(cassette: Any, request: Any) -> Mapping[str, Any] | None:
    """The first unplayed recording matching the request (marked played), or None."""
    if isinstance(cassette, cassettes.PlaybackCassette):
        return cassette.take(request)
    from vcr.errors import UnhandledHTTPRequestError

    try:
        return cassette.play_response(request)
    except UnhandledHTTPRequestError:
        return None


def _fill_usage(
    call: Call, family: Family, content_type: str | None, body: bytes, parsed: Any = None, sse_events: Any = None
) -> None:
    if sse.is_event_stream(content_type):
        if sse_events is None:
            sse_events = sse.parse(body.decode("utf-8", "replace"))
        events = sse.json_data(sse_events)
        from ..families import stream_usage

        usage = stream_usage(family, events)
        served = stream_served_model(family, events)
    else:
        if parsed is None:
            try:
                parsed = json.loads(body) if body else None
            except (ValueError, UnicodeDecodeError):
                return
        if isinstance(parsed, list):  # Gemini stream without alt=sse
            from ..families import stream_usage

            usage = stream_usage(family, parsed)
            parsed = parsed[-1] if parsed else None
        else:
            usage = family.usage(parsed)
        served = family.served_model(parsed)
    if usage is not None:
        call.input_tokens, call.output_tokens, call.cached_tokens = usage.input, usage.output, usage.cached
    if isinstance(served, str):
        call.served_model = served


__all__ = ["activate", "install", "origin_of", "redirect_to_emulator"]
