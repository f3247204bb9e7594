"""A loopback stand-in for the AnyInt gateway, for demos and end-to-end tests: the HTTP server.

The emulator is a real HTTP/1.1 server (stdlib only) so that official SDKs, plain ``httpx`` and
anything else an app uses talk to it through their real transports: auth headers, keep-alive,
chunked SSE and broken connections behave as on the wire. This module holds the server, the
emulator's lifecycle and the routing of each request; the answers per family live in
:mod:`.answers`, the task flows in :mod:`.tasks`, the fail and drift switches in :mod:`.switches`.

Family facts (base paths, auth forms, stream detection and framing, error envelopes) come from
:mod:`pytest_anyint.families`; faults are the fault engine's (:mod:`pytest_anyint.faults`).
"""

from __future__ import annotations

import json
import re
import socket
import struct
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from ..families import FAMILIES, Family, family_for_path, request_facts
from ..faults.plan import Fault
from ..kinds import TRANSPORT_KINDS
from . import answers, tasks
from .replies import Reply, Routed, error_reply, from_wire
from .switches import DRIFT_CHANGES, KEY_PLACES, QUIRKS, Switches
from .tasks import Tasks
from .wire import MAX_BODY_BYTES, BadRequest, parse_body, read_body

if TYPE_CHECKING:  # the type only: the emulator runs without loading the config machinery
    from ..config import AnyIntConfig

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
KEEP_ALIVE_SECONDS = 0.05
TIMEOUT_HOLD_SECONDS = 30.0
SLOW_SECONDS = 0.2
_CREDENTIAL_HEADERS = ("authorization", "x-api-key", "x-goog-api-key", "api-key", "proxy-authorization")


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
            reply = error_reply(exc.status, family.name if family else None, exc.message)
            self.close_connection = True
        except OSError:  # the client went silent (idle timeout) or away while sending its body
            self.close_connection = True
            return
        except Exception:  # an emulator bug: answer 500 rather than hang the client
            traceback.print_exc(file=sys.stderr)
            reply = error_reply(500, None, "Emulator internal error")
        try:
            self._send(reply)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send(self, reply: Reply) -> None:
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
            self.send_header("Content-Length", str(reply.declared_length or len(reply.body)))
            self.end_headers()
            if self.command == "HEAD":
                return
            self.wfile.write(reply.body)
            if reply.cut:  # fewer bytes than announced, then the connection drops
                self.wfile.flush()
                self.close_connection = True
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        for event in reply.events:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.flush()
        if reply.cut:  # drop the connection mid-body: no terminator, no last chunk
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


class Emulator(Switches):
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
        super().__init__(quirks)
        #: What arrived, newest last; at most REQUEST_LOG_LIMIT requests are kept.
        self.requests: deque[SeenRequest] = deque(maxlen=REQUEST_LOG_LIMIT)
        self._tasks = Tasks()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._accepted: set[Any] = set()  # connections holding a handler thread (for max_connections)

    @classmethod
    def from_config(cls, config: AnyIntConfig, **kwargs: Any) -> Emulator:
        """An emulator that serves every model of every route of a loaded ``anyint.yaml``, plus its own.

        Each chain model is listed by its family's models list, and a route's ``emulator: reply:``
        becomes the answer of each of its models.
        """
        emulator = cls(**kwargs)
        for route in config.routes.values():
            for chain_model in route.chain:
                emulator.add_models([chain_model.model], family=chain_model.family)
            reply = route.emulator_reply
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
        shown = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"

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

    # ----------------------------------------------------------------- lifecycle and switches

    def reset(self) -> None:
        """Clear faults, drift and the request log (task states are kept)."""
        self.clear_switches()
        with self._lock:
            self.requests.clear()

    # ----------------------------------------------------------------- dispatch

    _ROUTES: list[tuple[str, re.Pattern[str], str]] = [
        ("GET", re.compile(r"/openai/v1/models"), "openai_models"),
        ("GET", re.compile(r"/anthropic/v1/models"), "anthropic_models"),
        ("POST", re.compile(r"/openai/v1/chat/completions"), "chat_completions"),
        ("POST", re.compile(r"/anthropic/v1/messages"), "messages"),
        ("POST", re.compile(r"/anthropic/v1/messages/count_tokens"), "count_tokens"),
        ("POST", re.compile(r"/gemini/v1beta/models/(?P<model>[^:]+):(?P<method>generateContent|streamGenerateContent)"), "gemini"),
        ("POST", re.compile(r"/dashscope/v1/services/aigc/video-generation/video-synthesis"), "video_create"),
        ("GET", re.compile(r"/dashscope/v1/tasks/(?P<task_id>[^/]+)"), "video_task"),
        ("POST", re.compile(r"/suno/generate"), "music_create"),
        ("GET", re.compile(r"/suno/query/task"), "music_task"),
    ]
    #: Routes that name a model: model checks, faults and drift apply to them.
    _MODEL_ROUTES = {"chat_completions", "messages", "count_tokens", "gemini", "video_create", "music_create"}

    def _handler(self, name: str) -> Callable[[Routed], Reply]:
        """The function that answers route ``name``."""
        if name in ("openai_models", "anthropic_models"):
            lister = getattr(answers, name)
            return lambda call: lister(self, self.model_families)
        if name in ("video_create", "video_task", "music_create", "music_task"):
            flow = getattr(tasks, name)
            return lambda call: flow(self._tasks, self, call)
        builder = getattr(answers, name)
        return lambda call: builder(self, call)

    def _respond(self, method: str, path: str, raw_query: str, headers: dict[str, str], raw_body: bytes) -> Reply:
        query = {k: v[-1] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
        body = parse_body(raw_body)
        facts = request_facts(path, raw_query, body)
        family, model = facts.family, facts.model
        self._record(method, path, query, headers, body if len(raw_body) <= REQUEST_LOG_BODY_BYTES else None, model)

        route = self._match(method, path.rstrip("/") or "/")
        if route is None or family is None:
            return error_reply(404, family.name if family else None)
        name, params = route
        if not self._authorized(family, headers):
            return error_reply(401, family.name)
        call = Routed(method, path, query, raw_query, headers, body, family, model, params, facts.stream, facts.form)
        answer = self._handler(name)
        if name not in self._MODEL_ROUTES:
            return answer(call)
        if method == "POST" and raw_body and not isinstance(body, dict):
            return error_reply(400, family.name, "Request body is not a JSON object")
        if not model:
            return error_reply(400, family.name, "model is required")
        if model not in self.models:
            return error_reply(404, family.name, f"Model not found: {model}")
        fault = self.take_fault(model)
        if fault is not None:
            return self._fault_reply(fault, call, answer)
        canned = self.take_canned(model)
        if canned is not None:
            return canned
        quirks = self.quirks_of(model)
        if "slow" in quirks:
            self._stopping.wait(SLOW_SECONDS)
        plant = self.take_plant(model)
        if plant is not None:
            return self._planted(plant, call, answer(call))
        reply = answer(call)
        if "endless-stream" in quirks and reply.events is not None:
            reply.events, reply.endless = reply.events[:-1], True  # never the closing event
        return reply

    def _fault_reply(self, fault: Fault, call: Routed, answer: Callable[[Routed], Reply]) -> Reply:
        """The fault engine's answer: an error, a transport misdeed, or this very answer broken."""
        if fault.kind in TRANSPORT_KINDS:
            return Reply(action=fault.kind)
        complete = None
        if fault.kind is not None:
            good = answer(call)
            if good.status != 200:
                return good  # the request itself is invalid: that answer wins
            complete = good.answer
        wire = fault.wire(call.family.name, call.model, stream=call.stream, form=call.form, answer=complete)
        return from_wire(wire)

    def _planted(self, where: str, call: Routed, reply: Reply) -> Reply:
        """``reply`` with the key echoed at ``where`` (see :meth:`plant_key`)."""
        from urllib.parse import quote

        key = self.api_key
        with_key = f"{call.path}?key={quote(key, safe='')}"
        if where == "header":
            reply.headers["x-anyint-echo-key"] = key
            return reply
        if where == "redirect":
            return Reply(status=307, body=b"", headers={"location": with_key})
        if where == "error":
            return error_reply(400, call.family.name, f"Invalid request for API key {key}")
        if reply.events is not None or reply.status != 200:
            raise ValueError(f"plant_key({where!r}) needs a non-streamed answer")
        answer = json.loads(reply.body)
        if where == "query":
            answer["request_url"] = with_key
        elif where == "json":
            answer["echo"] = {"api_key": key}
        else:  # contract: a number the family's schema requires, holding the key
            answer["created"] = key
        reply.body = json.dumps(answer, separators=(",", ":"), ensure_ascii=False).encode()
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
    config: AnyIntConfig | None = None,
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


__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_MODELS",
    "DRIFT_CHANGES",
    "KEY_PLACES",
    "QUIRKS",
    "Emulator",
    "SeenRequest",
    "banner",
    "default_family",
    "exposure_warning",
    "is_loopback",
    "serve",
]
