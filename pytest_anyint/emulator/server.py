"""A loopback stand-in for the AnyInt gateway, for demos and end-to-end tests.

The emulator is a real HTTP/1.1 server (stdlib only) so that official SDKs, plain ``httpx`` and
anything else an app uses talk to it through their real transports: auth headers, keep-alive,
chunked SSE and broken connections behave as on the wire. It answers deterministically (ids and
timestamps are derived from the request), so re-recording against it gives stable cassettes, and
it can be told to fail (§7 faults) or to drift (change a response shape, §8).

Family facts (base paths, auth styles, error envelopes) come from :mod:`pytest_anyint.families`.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import struct
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..families import FAMILIES, Family, family_for_path, gateway_error
from ..faults.plan import STREAM_ERROR_STATUS
from .wire import MAX_BODY_BYTES, BadRequest, parse_body, read_body

DEFAULT_MODELS: tuple[str, ...] = (
    "gpt-5-mini",
    "gpt-5",
    "deepseek-v3.2-exp",
    "qwen3-max",
    "claude-sonnet-4-6",
    "claude-haiku-4-5",
    "claude-opus-4-6",
    "gemini-2.5-flash",
    "gemini-2.5-pro",
    "gemini-3-flash-preview",
    "wan2.5-t2v-preview",
    "V5",
)
DEFAULT_API_KEY = "emulator-key"
#: Seconds a connection may stay silent (between requests or inside one) before the emulator closes it.
IDLE_TIMEOUT_SECONDS = 30.0
#: Open connections served at once; more are closed at once, so half-open sockets cannot pile up threads.
MAX_CONNECTIONS = 256
#: Requests kept in ``Emulator.requests`` (the oldest are dropped); bodies above the byte limit are kept as None.
REQUEST_LOG_LIMIT = 1000
REQUEST_LOG_BODY_BYTES = 1024 * 1024

#: Per-model answer quirks (``quirks={"qwen3-max": "fenced-json"}``; several: comma-separated).
#: ``endless-stream``: a streamed answer sends its events but never ends (keep-alive comments follow).
QUIRKS: tuple[str, ...] = ("fenced-json", "prose", "slow", "endless-stream")
#: Where ``plant_key`` makes the emulator echo the key it received, as gateways sometimes do.
KEY_PLACES: tuple[str, ...] = ("header", "query", "json", "error", "redirect", "contract")
KEEP_ALIVE_SECONDS = 0.05
#: Non-status faults the server itself can produce (``connect`` needs no server: stop it instead).
FAULT_KINDS: tuple[str, ...] = ("timeout", "reset", "malformed-json", "empty-body", "truncated-stream", "stream-error")
DRIFT_CHANGES: tuple[str, ...] = ("additive", "breaking", "wording")

TIMEOUT_HOLD_SECONDS = 30.0
SLOW_SECONDS = 0.2
MALFORMED_JSON = b'{"id": "x", "choices": ['
_CREDENTIAL_HEADERS = ("authorization", "x-api-key", "x-goog-api-key", "api-key", "proxy-authorization")
_EPOCH = 1_750_000_000

_DISPLAY_NAMES = {
    "gpt-5-mini": "GPT-5 mini",
    "gpt-5": "GPT-5",
    "deepseek-v3.2-exp": "DeepSeek V3.2 Exp",
    "qwen3-max": "Qwen3 Max",
    "claude-sonnet-4-6": "Claude Sonnet 4.6",
    "claude-haiku-4-5": "Claude Haiku 4.5",
    "claude-opus-4-6": "Claude Opus 4.6",
    "gemini-2.5-flash": "Gemini 2.5 Flash",
    "gemini-2.5-pro": "Gemini 2.5 Pro",
    "gemini-3-flash-preview": "Gemini 3 Flash Preview",
    "wan2.5-t2v-preview": "Wan 2.5 Text-to-Video Preview",
    "V5": "Suno V5",
}


@dataclass(frozen=True)
class SeenRequest:
    """One request as the server received it, credentials redacted, so tests can assert on it."""

    method: str
    path: str
    query: dict[str, str]
    #: Lower-case header names; values of credential headers are redacted (the scheme is kept).
    headers: dict[str, str]
    #: The parsed JSON body (None when empty, not JSON, or larger than REQUEST_LOG_BODY_BYTES).
    json: Any
    model: str | None


@dataclass
class _Fault:
    model: str | None
    status: int | None
    kind: str | None
    times: int | None
    envelope: str
    retry_after: float | None
    should_retry: bool | None = None
    variant: str | None = None


@dataclass
class _Reply:
    """What to send back: a JSON body, a stream of framed events, or a transport-level misdeed."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    #: Stream pieces, each sent as one HTTP chunk (None: a Content-Length body).
    events: list[bytes] | None = None
    #: Send only this many events / body bytes, then drop the connection.
    cut_after: int | None = None
    #: "reset" (RST, no response) or "timeout" (hold, then drop).
    action: str | None = None
    #: A stream that never ends: after the events, keep-alive comments until the client leaves.
    endless: bool = False


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _json_reply(status: int, obj: Any, headers: Mapping[str, str] | None = None) -> _Reply:
    return _Reply(status=status, body=_json_bytes(obj), headers=dict(headers or {}))


def _error_headers(retry_after: float | None = None, should_retry: bool | None = None) -> dict[str, str]:
    """The headers of an injected fault (faults.error_headers), so SDKs never sleep and get a request id."""
    from ..faults.plan import error_headers

    return {k: v for k, v in error_headers(retry_after, should_retry) if k != "content-type"}


def _error(status: int, family: str | None, message: str | None = None) -> _Reply:
    """The emulator's own error answer on a route: the gateway envelope (Anthropic types on /anthropic/*)."""
    return _json_reply(status, gateway_error(status, message, family), _error_headers())


def answer_text(answer: Any) -> str:
    """An answer as the assistant's text: text as it is, anything else as its JSON."""
    return answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)


def default_family(model: str) -> str:
    """The family a model ID belongs to when nothing says otherwise (the built-in IDs' naming)."""
    if model.startswith("claude-"):
        return "anthropic"
    if model.startswith("gemini-"):
        return "gemini"
    if model.startswith("wan"):
        return "media"
    if model in ("V5", "V4_5", "V4") or model.startswith("suno"):
        return "music"
    return "openai"


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _created(digest: str) -> int:
    return _EPOCH + int(digest[:8], 16) % 10_000_000


def _uuid(digest: str) -> str:
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _words(text: str) -> int:
    return len(text.split())


# --------------------------------------------------------------------------- prompts and answers


@dataclass(frozen=True)
class _Prompt:
    system: str
    last_user: str
    everything: str
    wants_json: bool  # the request itself asks for JSON (response_format / responseMimeType)


def _text_of(content: Any) -> str:
    """Text of an OpenAI/Anthropic message content or a Gemini parts list."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = content.get("parts", [content])
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _openai_prompt(body: dict[str, Any]) -> _Prompt:
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    system = "\n".join(_text_of(m.get("content")) for m in messages if m.get("role") in ("system", "developer"))
    users = [_text_of(m.get("content")) for m in messages if m.get("role") == "user"]
    fmt = body.get("response_format")
    wants = isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema")
    return _Prompt(system, users[-1] if users else "", "\n".join(_text_of(m.get("content")) for m in messages), wants)


def _anthropic_prompt(body: dict[str, Any]) -> _Prompt:
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    system = _text_of(body.get("system"))
    users = [_text_of(m.get("content")) for m in messages if m.get("role") == "user"]
    everything = "\n".join([system] + [_text_of(m.get("content")) for m in messages])
    return _Prompt(system, users[-1] if users else "", everything, False)


def _gemini_prompt(body: dict[str, Any]) -> _Prompt:
    contents = [c for c in body.get("contents") or [] if isinstance(c, dict)]
    system = _text_of(body.get("systemInstruction") or body.get("system_instruction"))
    users = [_text_of(c) for c in contents if c.get("role", "user") == "user"]
    config = body.get("generationConfig") or body.get("generation_config") or {}
    mime = config.get("responseMimeType") or config.get("response_mime_type") if isinstance(config, dict) else None
    everything = "\n".join([system] + [_text_of(c) for c in contents])
    return _Prompt(system, users[-1] if users else "", everything, mime == "application/json")


_JSON_WORD = re.compile(r"\bjson\b", re.IGNORECASE)
_FIELD_LINE = re.compile(r"^\s*(?:[-*]\s+)?([A-Za-z][A-Za-z0-9 _-]{0,48}?)\s*:\s*(\S.*?)\s*$")
_INT = re.compile(r"^-?\d+$")
_FLOAT = re.compile(r"^-?\d*\.\d+$")


def extract_fields(text: str) -> dict[str, Any]:
    """The ``key: value`` lines of a prompt as a JSON object (how the emulator does "extraction")."""
    fields: dict[str, Any] = {}
    for line in text.splitlines():
        match = _FIELD_LINE.match(line)
        if not match or _JSON_WORD.search(match.group(1)):
            continue
        key = "_".join(match.group(1).lower().split())
        value: Any = match.group(2)
        if _INT.match(value):
            value = int(value)
        elif _FLOAT.match(value):
            value = float(value)
        fields[key] = value
    return fields


def _echo(text: str, limit: int = 8) -> str:
    words = text.split()
    if not words:
        return "(empty prompt)"
    return " ".join(words[:limit]) + (" ..." if len(words) > limit else "")


def _pieces(text: str, per: int = 3) -> list[str]:
    """Split an answer into stream deltas of a few words; joining them gives the text back."""
    tokens = re.findall(r"\s*\S+", text)
    if not tokens:
        return [text]
    pieces = ["".join(tokens[i : i + per]) for i in range(0, len(tokens), per)]
    pieces[-1] += text[len("".join(tokens)) :]
    return pieces


# --------------------------------------------------------------------------- drift


def _usage_dicts(obj: dict[str, Any]) -> list[dict[str, Any]]:
    found = [obj.get("usage"), obj.get("usageMetadata")]
    message = obj.get("message")
    if isinstance(message, dict):
        found.append(message.get("usage"))
    return [u for u in found if isinstance(u, dict)]


def _drift_additive(family: str, obj: dict[str, Any]) -> None:
    obj["anyint_new_field"] = "x"
    for usage in _usage_dicts(obj):
        usage["anyint_new_detail"] = 0


def _drift_breaking(family: str, obj: dict[str, Any]) -> None:
    if family == "openai":
        for choice in obj.get("choices") or []:
            if isinstance(choice, dict):
                choice.pop("finish_reason", None)
        if "created" in obj:
            obj["created"] = str(obj["created"])
    elif family == "anthropic":
        for holder in (obj, obj.get("message"), obj.get("delta")):
            if isinstance(holder, dict):
                holder.pop("stop_reason", None)
        for usage in _usage_dicts(obj):
            if "input_tokens" in usage:
                usage["input_tokens"] = str(usage["input_tokens"])
    elif family == "gemini":
        for candidate in obj.get("candidates") or []:
            if isinstance(candidate, dict):
                candidate.pop("content", None)
        usage = obj.get("usageMetadata")
        if isinstance(usage, dict) and "totalTokenCount" in usage:
            usage["totalTokenCount"] = str(usage["totalTokenCount"])


# --------------------------------------------------------------------------- the server


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AnyIntEmulator/1"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus the client's
        # delayed ACK add ~40 ms to every non-streamed answer (and to recorded latencies).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # A silent client (half-open, or a body that never comes) is dropped after the idle timeout.
        self.connection.settimeout(self.server.emulator.idle_timeout)
        self.server.emulator._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.emulator._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silent: the emulator never logs per request (and so never logs a header)."""

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _handle(self) -> None:
        emulator = self.server.emulator
        split = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            body = read_body(headers, self.rfile, emulator.max_body_bytes)
            reply = emulator._respond(self.command, split.path, split.query, headers, body)
        except BadRequest as exc:  # a malformed or oversized request: 4xx, and the rest of it is not read
            family = family_for_path(split.path)
            reply = _error(exc.status, family.name if family else None, exc.message)
            self.close_connection = True
        except OSError:  # the client went silent (idle timeout) or away while sending its body
            self.close_connection = True
            return
        except Exception:  # an emulator bug: answer 500 rather than hang the client
            traceback.print_exc(file=sys.stderr)
            reply = _error(500, None, "Emulator internal error")
        try:
            self._send(reply)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send(self, reply: _Reply) -> None:
        if reply.action == "timeout":
            self.server.emulator._stopping.wait(TIMEOUT_HOLD_SECONDS)
            self._abort()
            return
        if reply.action == "reset":
            self._abort()
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.events is None:
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command == "HEAD":
                return
            if reply.cut_after is not None:
                self.wfile.write(reply.body[: reply.cut_after])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(reply.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        events = reply.events if reply.cut_after is None else reply.events[: reply.cut_after]
        for event in events:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.flush()
        if reply.cut_after is not None:  # drop the connection mid-body: no terminator, no last chunk
            self.close_connection = True
            return
        if reply.endless:  # keep-alive comments, then (after TIMEOUT_HOLD_SECONDS) drop without an end
            self.close_connection = True
            deadline = time.monotonic() + TIMEOUT_HOLD_SECONDS
            while not self.server.emulator._stopping.wait(KEEP_ALIVE_SECONDS) and time.monotonic() < deadline:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(b": keep-alive\n\n"), b": keep-alive\n\n"))
                self.wfile.flush()
            return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _abort(self) -> None:
        """Close the socket with a TCP reset and without a response."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.wfile.close()
            self.connection.close()
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    emulator: Emulator

    def verify_request(self, request: Any, client_address: Any) -> bool:
        """Close a connection beyond ``max_connections`` at once, before it gets a thread."""
        with self.emulator._lock:
            accepted = self.emulator._accepted
            if len(accepted) >= self.emulator.max_connections:
                return False
            accepted.add(request)
            return True

    def shutdown_request(self, request: Any) -> None:
        with self.emulator._lock:
            self.emulator._accepted.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (OSError, ValueError)):
            return  # a client went away, or we aborted the connection on purpose
        super().handle_error(request, client_address)


class _Server6(_Server):
    address_family = socket.AF_INET6


@dataclass
class _Call:
    """A routed request: what the route handlers need."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    family: Family
    model: str | None
    params: dict[str, str]

    @property
    def stream(self) -> bool:
        if self.family.name == "gemini":
            return self.params.get("method") == "streamGenerateContent"
        return isinstance(self.body, dict) and self.body.get("stream") is True


class Emulator:
    """The gateway on loopback: deterministic answers per model, switchable faults and drift.

    Use it as ``with Emulator() as emu:`` or ``emu = Emulator().start()``; point SDKs at it with
    ``FAMILIES[name].sdk_kwargs(emu.url, emu.api_key)``.
    """

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        models: Iterable[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        quirks: Mapping[str, str] | None = None,
        idle_timeout: float = IDLE_TIMEOUT_SECONDS,
        max_connections: int = MAX_CONNECTIONS,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.api_key = api_key
        self.models: list[str] = []
        #: Model ID -> the family whose models list names it (the OpenAI list names every model).
        self.model_families: dict[str, str] = {}
        self.add_models(DEFAULT_MODELS if models is None else models)
        self.host = host
        self.port = port
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.max_body_bytes = max_body_bytes
        #: Per-model quirks; may be changed between requests.
        self.quirks: dict[str, str] = dict(quirks or {})
        for model in self.quirks:
            self._quirks_of(model)  # validate early
        #: What arrived, newest last; at most REQUEST_LOG_LIMIT requests are kept.
        self.requests: deque[SeenRequest] = deque(maxlen=REQUEST_LOG_LIMIT)
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._plants: list[list[Any]] = []  # [where, model, times left]
        self._canned: list[list[Any]] = []  # [model, reply, times left]
        self._answers: list[list[Any]] = []  # [model, assistant text, times left] (answer_with)
        #: Per model, the assistant text configured for its route (``emulator: reply:`` in anyint.yaml).
        self.route_answers: dict[str, str] = {}
        self._drift: set[tuple[str, str | None]] = set()
        self._tasks: dict[str, int] = {}  # task id -> polls so far
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._accepted: set[Any] = set()  # connections holding a handler thread (for max_connections)

    @classmethod
    def from_config(cls, config: Any, **kwargs: Any) -> Emulator:
        """An emulator that serves every model of every route of a loaded ``anyint.yaml``, plus its own.

        Each chain model is listed by its family's models list, and a route's ``emulator: reply:``
        becomes the answer of each of its models.
        """
        emulator = cls(**kwargs)
        for route in config.routes.values():
            for chain_model in route.chain:
                emulator.add_models([chain_model.model], family=chain_model.family)
            reply = getattr(route, "emulator_reply", None)
            if reply is not None:
                for chain_model in route.chain:
                    emulator.route_answers.setdefault(chain_model.model, reply)
        return emulator

    def add_models(self, models: Iterable[str], *, family: str | None = None) -> None:
        """Serve these model IDs too (listed and answered); ``family`` picks the models list that names them."""
        if family is not None and family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")
        for model in models:
            if not isinstance(model, str) or not model.strip():
                raise ValueError(f"a model ID must be non-empty text, got {model!r}")
            if model not in self.model_families:
                self.models.append(model)
                self.model_families[model] = family or default_family(model)
            elif family is not None:
                self.model_families[model] = family

    # ----------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """The emulator root, standing in for https://gateway.api.anyint.ai."""
        if self._server is None:
            raise RuntimeError("the emulator is not started; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in str(host) else f"http://{host}:{port}"

    def start(self) -> Emulator:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server_class = _Server6 if ":" in self.host else _Server
        server = server_class((self.host, self.port), _Handler)
        server.emulator = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.name = f"anyint-emulator-{server.server_address[1]}"
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, release held (timeout) requests and close open keep-alive connections."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _track(self, conn: socket.socket, alive: bool) -> None:
        with self._lock:
            (self._connections.add if alive else self._connections.discard)(conn)

    # ----------------------------------------------------------------- switches

    def fail(
        self,
        model: str | None = None,
        *,
        status: int | None = None,
        kind: str | None = None,
        times: int | None = None,
        envelope: str = "gateway",
        retry_after: float | None = None,
        should_retry: bool | None = None,
        variant: str | None = None,
    ) -> None:
        """Make the next ``times`` requests naming ``model`` (None: any model) fail.

        ``status=`` answers that HTTP status with the gateway's envelope, or the upstream family's
        own with ``envelope="native"``; ``variant=`` picks a named native body ("insufficient_quota",
        "api_key_invalid") and implies its status; ``should_retry`` sends ``x-should-retry``;
        ``kind=`` is one of :data:`FAULT_KINDS`. Faults stack and are used in the order given.
        Bodies and headers are the ones :mod:`pytest_anyint.faults` injects.
        """
        if variant is not None:
            from ..faults.plan import NATIVE_VARIANTS

            if variant.lower() not in NATIVE_VARIANTS:
                raise ValueError(f"unknown variant {variant!r}; known native variants: {', '.join(NATIVE_VARIANTS)}")
            implied = NATIVE_VARIANTS[variant.lower()][1]
            if (status is not None and status != implied) or kind is not None:
                raise ValueError(f"variant {variant!r} is a {implied} error body; pass status={implied} or no status")
            status, envelope, variant = implied, "native", variant.lower()
        if (status is None) == (kind is None):
            raise ValueError("fail() takes exactly one of status= or kind=")
        if kind is not None and kind not in FAULT_KINDS:
            hint = " (a connect failure needs no server: stop() the emulator)" if kind == "connect" else ""
            raise ValueError(f"unknown fault kind {kind!r}{hint}; expected one of {', '.join(FAULT_KINDS)}")
        if status is not None and not 400 <= int(status) <= 599:
            raise ValueError(f"fault status must be 4xx or 5xx, got {status}")
        if envelope not in ("gateway", "native"):
            raise ValueError(f"envelope must be 'gateway' or 'native', got {envelope!r}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for every request)")
        if model is not None and model not in self.models:
            raise ValueError(f"unknown model {model!r}; the emulator serves {', '.join(self.models)}")
        with self._lock:
            self._faults.append(_Fault(model, status, kind, times, envelope, retry_after, should_retry, variant))

    def plant_key(self, where: str, *, model: str | None = None, times: int | None = 1) -> None:
        """Echo the key the request carried in the next ``times`` answers naming ``model`` (None: any).

        For proving that no echo of a key survives into cassettes, logs or reports. ``where``:
        ``header`` (an ``x-anyint-echo-key`` response header), ``query`` (a JSON field holding the
        request URL with ``?key=``, URL-encoded), ``json`` (a JSON body field), ``error`` (a 400 whose
        message quotes the key), ``redirect`` (a 307 to the same path with ``?key=``, served normally
        when followed), ``contract`` (the key in an OpenAI answer's ``created``, where the contract
        wants a number, so a violation quotes it).
        """
        if where not in KEY_PLACES:
            raise ValueError(f"unknown place {where!r}; expected one of {', '.join(KEY_PLACES)}")
        if model is not None and model not in self.models:
            raise ValueError(f"unknown model {model!r}; the emulator serves {', '.join(self.models)}")
        with self._lock:
            self._plants.append([where, model, times])

    def reply_with(
        self,
        body: bytes,
        *,
        model: str | None = None,
        status: int = 200,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
        times: int | None = 1,
    ) -> None:
        """Answer the next ``times`` requests naming ``model`` with exactly these bytes (huge, binary…)."""
        if model is not None and model not in self.models:
            raise ValueError(f"unknown model {model!r}; the emulator serves {', '.join(self.models)}")
        reply = _Reply(status=status, body=bytes(body), content_type=content_type, headers=dict(headers or {}))
        with self._lock:
            self._canned.append([model, reply, times])

    def answer_with(self, answer: Any, *, model: str | None = None, times: int | None = None) -> None:
        """Make the assistant's answer ``answer`` for requests naming ``model`` (None: any model).

        Unlike :meth:`reply_with`, the answer keeps each family's shape (chat completion, Anthropic
        message, Gemini candidates, their streams): only the text changes. Text is sent as it is;
        anything else (a dict, a list, a number) as its JSON. ``times=None``: until :meth:`reset`.
        """
        if model is not None and model not in self.models:
            raise ValueError(f"unknown model {model!r}; the emulator serves {', '.join(self.models)}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for every request)")
        with self._lock:
            self._answers.append([model, answer_text(answer), times])

    def drift(self, change: str, *, family: str | None = None) -> None:
        """Change every following answer of ``family`` (None: all): additive, breaking or wording."""
        if change not in DRIFT_CHANGES:
            raise ValueError(f"unknown drift {change!r}; expected one of {', '.join(DRIFT_CHANGES)}")
        if family is not None and family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")
        with self._lock:
            self._drift.add((change, family))

    def reset(self) -> None:
        """Clear faults, drift and the request log (task states are kept)."""
        with self._lock:
            self._faults.clear()
            self._plants.clear()
            self._canned.clear()
            self._answers.clear()
            self._drift.clear()
            self.requests.clear()

    # ----------------------------------------------------------------- dispatch

    _ROUTES: list[tuple[str, re.Pattern[str], str]] = [
        ("GET", re.compile(r"/openai/v1/models"), "_openai_models"),
        ("GET", re.compile(r"/anthropic/v1/models"), "_anthropic_models"),
        ("POST", re.compile(r"/openai/v1/chat/completions"), "_chat_completions"),
        ("POST", re.compile(r"/anthropic/v1/messages"), "_messages"),
        ("POST", re.compile(r"/anthropic/v1/messages/count_tokens"), "_count_tokens"),
        ("POST", re.compile(r"/gemini/v1beta/models/(?P<model>[^:]+):(?P<method>generateContent|streamGenerateContent)"), "_gemini"),
        ("POST", re.compile(r"/dashscope/v1/services/aigc/video-generation/video-synthesis"), "_video_create"),
        ("GET", re.compile(r"/dashscope/v1/tasks/(?P<task_id>[^/]+)"), "_video_task"),
        ("POST", re.compile(r"/suno/generate"), "_music_create"),
        ("GET", re.compile(r"/suno/query/task"), "_music_task"),
    ]
    #: Routes that name a model: model checks, faults and drift apply to them.
    _MODEL_ROUTES = {"_chat_completions", "_messages", "_count_tokens", "_gemini", "_video_create", "_music_create"}

    def _respond(self, method: str, path: str, raw_query: str, headers: dict[str, str], raw_body: bytes) -> _Reply:
        query = {k: v[-1] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
        family = family_for_path(path)
        body = parse_body(raw_body)
        model = family.model_from_request(path, body) if family else None
        self._record(method, path, query, headers, body if len(raw_body) <= REQUEST_LOG_BODY_BYTES else None, model)

        route = self._match(method, path.rstrip("/") or "/")
        if route is None or family is None:
            return _error(404, family.name if family else None)
        name, params = route
        if not self._authorized(family, headers):
            return _error(401, family.name)
        call = _Call(method, path, query, headers, body, family, model, params)
        if name in self._MODEL_ROUTES:
            if method == "POST" and raw_body and not isinstance(body, dict):
                return _error(400, family.name, "Request body is not a JSON object")
            if not model:
                return _error(400, family.name, "model is required")
            if model not in self.models:
                return _error(404, family.name, f"Model not found: {model}")
            fault = self._take_fault(model)
            if fault is not None:
                return self._fault_reply(fault, call)
            canned = self._take(self._canned, model, 0)
            if canned is not None:
                return canned[1]
            quirks = self._quirks_of(model)
            if "slow" in quirks:
                self._stopping.wait(SLOW_SECONDS)
            plant = self._take(self._plants, model, 1)
            if plant is not None:
                return self._planted(plant[0], call, getattr(self, name)(call))
            reply = getattr(self, name)(call)
            if "endless-stream" in quirks and reply.events is not None:
                reply.events, reply.endless = reply.events[:-1], True  # never the closing event
            return reply
        return getattr(self, name)(call)

    def _take(self, switches: list[list[Any]], model: str, model_at: int) -> list[Any] | None:
        """The first switch for ``model`` (or any model), counting down its ``times``."""
        with self._lock:
            for switch in switches:
                if switch[model_at] is None or switch[model_at] == model:
                    if switch[-1] is not None:
                        switch[-1] -= 1
                        if switch[-1] <= 0:
                            switches.remove(switch)
                    return switch
        return None

    def _planted(self, where: str, call: _Call, reply: _Reply) -> _Reply:
        """``reply`` with the key echoed at ``where`` (see :meth:`plant_key`)."""
        from urllib.parse import quote

        key = self.api_key
        with_key = f"{call.path}?key={quote(key, safe='')}"
        if where == "header":
            reply.headers["x-anyint-echo-key"] = key
            return reply
        if where == "redirect":
            return _Reply(status=307, body=b"", headers={"location": with_key})
        if where == "error":
            return _error(400, call.family.name, f"Invalid request for API key {key}")
        if reply.events is not None or reply.status != 200:
            raise ValueError(f"plant_key({where!r}) needs a non-streamed answer")
        answer = json.loads(reply.body)
        if where == "query":
            answer["request_url"] = with_key
        elif where == "json":
            answer["echo"] = {"api_key": key}
        else:  # contract: a number the family's schema requires, holding the key
            answer["created"] = key
        reply.body = _json_bytes(answer)
        return reply

    def _match(self, method: str, path: str) -> tuple[str, dict[str, str]] | None:
        for route_method, pattern, name in self._ROUTES:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                return name, match.groupdict()
        return None

    def _authorized(self, family: Family, headers: Mapping[str, str]) -> bool:
        """The key in any form the family table accepts (``Family.auth_forms``), as SDKs built the plain way send it."""
        return family.presented_key(headers) == self.api_key

    def _record(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any, model: str | None) -> None:
        redacted = {}
        for name, value in headers.items():
            if name in _CREDENTIAL_HEADERS:
                scheme, _, rest = value.partition(" ")
                value = f"{scheme} [redacted]" if rest and scheme.lower() in ("bearer", "basic") else "[redacted]"
            redacted[name] = value
        query = {k: ("[redacted]" if k.lower() == "key" else v) for k, v in query.items()}
        with self._lock:
            self.requests.append(SeenRequest(method, path, query, redacted, body, model))

    def _quirks_of(self, model: str) -> set[str]:
        quirks = {q.strip() for q in (self.quirks.get(model) or "").split(",") if q.strip()}
        unknown = quirks - set(QUIRKS)
        if unknown:
            raise ValueError(f"unknown quirk {sorted(unknown)[0]!r} for {model}; expected one of {', '.join(QUIRKS)}")
        return quirks

    def _has_drift(self, change: str, family: str) -> bool:
        with self._lock:
            return (change, None) in self._drift or (change, family) in self._drift

    def _apply_drift(self, family: str, obj: Any) -> Any:
        if isinstance(obj, dict):
            if self._has_drift("additive", family):
                _drift_additive(family, obj)
            if self._has_drift("breaking", family):
                _drift_breaking(family, obj)
        return obj

    # ----------------------------------------------------------------- faults

    def _take_fault(self, model: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.model is None or fault.model == model:
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def _fault_reply(self, fault: _Fault, call: _Call) -> _Reply:
        family = call.family
        if fault.status is not None:
            from ..faults.plan import error_body

            status = int(fault.status)
            body = error_body(status, family.name, envelope=fault.envelope, variant=fault.variant, retry_after=fault.retry_after)
            return _json_reply(status, body, _error_headers(fault.retry_after, fault.should_retry))
        kind = fault.kind
        if kind in ("timeout", "reset"):
            return _Reply(action=kind)
        if kind in ("malformed-json", "empty-body") and call.stream:  # framed as the family streams
            from ..faults.plan import body_fault_wire

            wire = body_fault_wire(kind, family.name, call.model, stream=True, sse=family.name != "gemini" or call.query.get("alt") == "sse")
            return _Reply(content_type=wire.content_type, events=list(wire.chunks))
        if kind == "malformed-json":
            return _Reply(body=MALFORMED_JSON)
        if kind == "empty-body":
            return _Reply(body=b"")
        # Stream faults: build the real answer, then break it.
        good = getattr(self, self._match(call.method, call.path.rstrip("/"))[0])(call)  # type: ignore[index]
        if good.status != 200:
            return good  # the request itself is invalid: that answer wins
        error_status = STREAM_ERROR_STATUS.get(family.name, 503)
        if good.events is None:  # not a stream request: the non-stream equivalent
            if kind == "truncated-stream":
                return _Reply(body=good.body, cut_after=max(1, len(good.body) // 2))
            return _json_reply(error_status, family.native_error(error_status, None), _error_headers())
        events = good.events
        if kind == "truncated-stream":
            return _Reply(content_type=good.content_type, events=events, cut_after=max(1, min(2, len(events) - 1)))
        error = family.native_error(error_status, None)
        if family.name == "anthropic":
            error_event = b"event: error\ndata: " + _json_bytes(error) + b"\n\n"
        elif family.name == "gemini" and good.content_type == "application/json":  # array mode
            error_event = b",\r\n" + _json_bytes(error) + b"]"
        elif family.name == "gemini":
            error_event = b"data: " + _json_bytes(error) + b"\r\n\r\n"
        else:
            error_event = b"data: " + _json_bytes(error) + b"\n\n"
        return _Reply(content_type=good.content_type, events=[events[0], error_event])

    # ----------------------------------------------------------------- answers

    def _answer(self, model: str, family: str, prompt: _Prompt) -> str:
        """The assistant's text: a set answer, an echo, or the prompt's ``key: value`` lines as JSON."""
        chosen = self._take(self._answers, model, 0)
        if chosen is not None:
            return chosen[1]
        if model in self.route_answers:
            return self.route_answers[model]
        quirks = self._quirks_of(model)
        wording = self._has_drift("wording", family)
        json_mode = prompt.wants_json or bool(_JSON_WORD.search(prompt.system) or _JSON_WORD.search(prompt.last_user))
        fields = extract_fields(prompt.last_user)
        if not json_mode:
            return f"{model} says: {_echo(prompt.last_user)}" if wording else f"{model}: {_echo(prompt.last_user)}"
        if "prose" in quirks:
            facts = ", ".join(f"{k.replace('_', ' ')} is {v}" for k, v in fields.items())
            return f"{model}: Sure! Here is what I found: {facts or _echo(prompt.last_user)}."
        obj = fields or {"answer": _echo(prompt.last_user)}
        text = json.dumps(obj, indent=2 if wording else None, ensure_ascii=False)
        if "fenced-json" in quirks:
            text = f"```json\n{text}\n```"
        return text

    def _openai_models(self, call: _Call) -> _Reply:
        data = [
            {
                "id": m,
                "object": "model",
                "created": _created(_digest("model", m)),
                "owned_by": "anyint",
                "display_name": _DISPLAY_NAMES.get(m, m),
            }
            for m in self.models
        ]
        return _json_reply(200, {"object": "list", "data": data})

    def _anthropic_models(self, call: _Call) -> _Reply:
        claude = [m for m in self.models if self.model_families.get(m) == "anthropic"]
        data = [
            {
                "type": "model",
                "id": m,
                "display_name": _DISPLAY_NAMES.get(m, m),
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(_created(_digest("model", m)))),
                "lifecycle": "active",
            }
            for m in claude
        ]
        return _json_reply(
            200, {"data": data, "has_more": False, "first_id": claude[0] if claude else None, "last_id": claude[-1] if claude else None}
        )

    def _chat_completions(self, call: _Call) -> _Reply:
        body, model = call.body, call.model or ""
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return _error(400, "openai", "messages is required")
        prompt = _openai_prompt(body)
        text = self._answer(model, "openai", prompt)
        digest = _digest(model, call.path, body)
        ident, created = f"chatcmpl-{digest[:24]}", _created(digest)
        usage = self._openai_usage(prompt, text)
        if not call.stream:
            answer = {
                "id": ident,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text, "refusal": None, "annotations": []},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": usage,
            }
            return _json_reply(200, self._apply_drift("openai", answer))
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(choices: list[dict[str, Any]], chunk_usage: Any = None) -> bytes:
            obj: dict[str, Any] = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model, "choices": choices}
            if include_usage:
                obj["usage"] = chunk_usage
            return b"data: " + _json_bytes(self._apply_drift("openai", obj)) + b"\n\n"

        def choice(delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
            return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]

        events = [chunk(choice({"role": "assistant", "content": "", "refusal": None}))]
        events += [chunk(choice({"content": piece})) for piece in _pieces(text)]
        events.append(chunk(choice({}, "stop")))
        if include_usage:
            events.append(chunk([], usage))
        events.append(b"data: [DONE]\n\n")
        return _Reply(content_type="text/event-stream", events=events)

    @staticmethod
    def _openai_usage(prompt: _Prompt, text: str) -> dict[str, Any]:
        prompt_tokens, completion_tokens = max(1, _words(prompt.everything)), max(1, _words(text))
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        }

    def _anthropic_invalid(self, message: str) -> _Reply:
        return _error(400, "anthropic", message)

    def _messages(self, call: _Call) -> _Reply:
        body, model = call.body, call.model or ""
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return self._anthropic_invalid("messages: Field required")
        if not isinstance(body.get("max_tokens"), int):
            return self._anthropic_invalid("max_tokens: Field required")
        prompt = _anthropic_prompt(body)
        text = self._answer(model, "anthropic", prompt)
        digest = _digest(model, call.path, body)
        ident = f"msg_{digest[:24]}"
        input_tokens, output_tokens = max(1, _words(prompt.everything)), max(1, _words(text))
        usage = {
            "input_tokens": input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": output_tokens,
            "service_tier": "standard",
        }
        if not call.stream:
            answer = {
                "id": ident,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": usage,
            }
            return _json_reply(200, self._apply_drift("anthropic", answer))

        def event(obj: dict[str, Any]) -> bytes:
            name = obj["type"]
            return f"event: {name}\ndata: ".encode() + _json_bytes(self._apply_drift("anthropic", obj)) + b"\n\n"

        start_message = {
            "id": ident,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {**usage, "output_tokens": 1},
        }
        events = [
            event({"type": "message_start", "message": start_message}),
            event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            event({"type": "ping"}),
        ]
        events += [
            event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}})
            for piece in _pieces(text)
        ]
        events += [
            event({"type": "content_block_stop", "index": 0}),
            event(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {k: v for k, v in usage.items() if k != "service_tier"},
                }
            ),
            event({"type": "message_stop"}),
        ]
        return _Reply(content_type="text/event-stream", events=events)

    def _count_tokens(self, call: _Call) -> _Reply:
        if not isinstance(call.body.get("messages"), list) or not call.body["messages"]:
            return self._anthropic_invalid("messages: Field required")
        prompt = _anthropic_prompt(call.body)
        return _json_reply(200, self._apply_drift("anthropic", {"input_tokens": max(1, _words(prompt.everything))}))

    def _gemini(self, call: _Call) -> _Reply:
        body, model = call.body, call.model or ""
        if not isinstance(body, dict) or not isinstance(body.get("contents"), list) or not body["contents"]:
            return _error(400, "gemini", "contents is required")
        prompt = _gemini_prompt(body)
        text = self._answer(model, "gemini", prompt)
        digest = _digest(model, call.path, body)
        response_id = digest[:22]
        prompt_tokens, output_tokens = max(1, _words(prompt.everything)), max(1, _words(text))
        details = [{"modality": "TEXT", "tokenCount": prompt_tokens}]

        def response(part: str, final: bool) -> dict[str, Any]:
            candidate: dict[str, Any] = {"content": {"parts": [{"text": part}], "role": "model"}}
            usage: dict[str, Any] = {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens, "promptTokensDetails": details}
            if final:
                candidate["finishReason"] = "STOP"
                usage = {
                    "promptTokenCount": prompt_tokens,
                    "candidatesTokenCount": output_tokens,
                    "totalTokenCount": prompt_tokens + output_tokens,
                    "promptTokensDetails": details,
                }
            candidate["index"] = 0
            obj = {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model, "responseId": response_id}
            return self._apply_drift("gemini", obj)

        if not call.stream:
            return _json_reply(200, response(text, True))
        pieces = _pieces(text)
        chunks = [_json_bytes(response(piece, i == len(pieces) - 1)) for i, piece in enumerate(pieces)]
        if call.query.get("alt") == "sse":
            return _Reply(content_type="text/event-stream", events=[b"data: " + c + b"\r\n\r\n" for c in chunks])
        events = [b"[" + chunks[0]] + [b",\r\n" + c for c in chunks[1:]]
        events[-1] += b"]"
        return _Reply(content_type="application/json", events=events)

    def _video_create(self, call: _Call) -> _Reply:
        digest = _digest(call.model, call.path, call.body)
        task_id = _uuid(_digest("task", digest))
        with self._lock:
            self._tasks[task_id] = 0
        answer = {"request_id": _uuid(digest), "output": {"task_id": task_id, "task_status": "PENDING"}}
        return _json_reply(200, self._apply_drift("media", answer))

    def _video_task(self, call: _Call) -> _Reply:
        task_id = call.params["task_id"]
        with self._lock:
            polls = self._tasks.get(task_id)
            if polls is not None:
                self._tasks[task_id] = polls + 1
        if polls is None:
            return _error(404, call.family.name, f"Task not found: {task_id}")
        output: dict[str, Any] = {"task_id": task_id, "task_status": "RUNNING" if polls == 0 else "SUCCEEDED"}
        answer: dict[str, Any] = {"request_id": _uuid(_digest("poll", task_id, polls)), "output": output}
        if polls > 0:
            output["video_url"] = f"https://media.emulator.anyint.invalid/video/{task_id}.mp4"
            answer["usage"] = {"video_count": 1, "video_duration": 5}
        return _json_reply(200, self._apply_drift("media", answer))

    def _music_create(self, call: _Call) -> _Reply:
        task_id = _digest("suno", call.model, call.body)[:32]
        with self._lock:
            self._tasks[task_id] = 0
        return _json_reply(200, self._apply_drift("music", {"code": 200, "msg": "success", "data": {"taskId": task_id}}))

    def _music_task(self, call: _Call) -> _Reply:
        task_id = call.query.get("taskId") or ""
        with self._lock:
            polls = self._tasks.get(task_id)
            if polls is not None:
                self._tasks[task_id] = polls + 1
        if not task_id:
            return _error(400, "music", "taskId is required")
        if polls is None:
            return _error(404, call.family.name, f"Task not found: {task_id}")
        data: dict[str, Any] = {"taskId": task_id, "status": "PENDING" if polls == 0 else "SUCCESS", "response": None}
        if polls > 0:
            songs = []
            for n in (1, 2):
                song_id = _uuid(_digest("song", task_id, n))
                songs.append(
                    {
                        "id": song_id,
                        "audioUrl": f"https://media.emulator.anyint.invalid/audio/{song_id}.mp3",
                        "title": f"Emulated song {n}",
                        "tags": "pop, emulated",
                        "duration": 91.2,
                    }
                )
            data["response"] = {"taskId": task_id, "sunoData": songs}
        return _json_reply(200, self._apply_drift("music", {"code": 200, "msg": "success", "data": data}))


def is_loopback(host: str) -> bool:
    """Whether a bind address is reachable from this machine only (``localhost``, 127.0.0.0/8, ``::1``)."""
    import ipaddress

    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def banner(emulator: Emulator, key_source: str) -> str:
    """The start-up line: where it listens and where its key comes from, never the key itself."""
    return f"AnyInt emulator listening on {emulator.url} (api key: {key_source}; not shown)"


def exposure_warning(host: str) -> str | None:
    """The warning for a bind address other machines can reach, or None on loopback."""
    if is_loopback(host):
        return None
    return (
        f"warning: the emulator listens on {host}, which other machines can reach: anyone on the network "
        f"who knows its key can use it; bind to 127.0.0.1 (the default) unless that is what you want"
    )


def serve(
    host: str,
    port: int,
    api_key: str,
    models: list[str] | None,
    *,
    config: Any = None,
    key_source: str = "given by --api-key",
) -> None:
    """Run the emulator in the foreground until Ctrl-C (``pytest-anyint emulate --port N``).

    With ``config`` (a loaded anyint.yaml) it serves every configured model and route reply too.
    """
    kwargs: dict[str, Any] = {"api_key": api_key, "models": models, "host": host, "port": port}
    emulator = (Emulator.from_config(config, **kwargs) if config is not None else Emulator(**kwargs)).start()
    try:  # the banner inside: a Ctrl-C right after it still ends cleanly
        warning = exposure_warning(host)
        if warning:
            print(warning, file=sys.stderr, flush=True)
        print(banner(emulator, key_source), flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
