"""The emulator on a real port meets whatever connects: raw sockets against a real emulator on loopback.

Malformed framing and JSON get a 400 (an oversized body a 413) in the gateway envelope and nothing
on stderr; silent connections are closed after the idle timeout, so half-open sockets cannot pile
up threads; the request log is bounded; ``pytest-anyint emulate`` never prints its key and warns
when bound to an address other machines can reach.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from pytest_anyint.emulator import server as emulator_module
from pytest_anyint.emulator.server import Emulator, is_loopback

KEY = "test-only-emulator-key-not-real"  # an invented key, marked as such


@pytest.fixture
def emu(capfd: pytest.CaptureFixture[str]) -> Iterator[Emulator]:
    with Emulator(api_key=KEY, idle_timeout=0.5, max_body_bytes=64 * 1024) as running:
        yield running
    assert capfd.readouterr().err == ""  # no traceback, no log line: nothing on stderr


def send(emu: Emulator, raw: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes on a fresh connection and read until the server closes or goes quiet."""
    host, port = emu.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(raw)
        chunks = []
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                chunks.append(data)
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


def answer(raw: bytes) -> tuple[int, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body) if body.startswith(b"{") else {}


def post(path: str, headers: str, body: bytes = b"") -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\nContent-Type: application/json\r\n{headers}\r\n".encode() + body


CHAT = "/openai/v1/chat/completions"
GOOD = json.dumps({"model": "gpt-5-mini", "messages": [{"role": "user", "content": "hi"}]}).encode()


@pytest.mark.parametrize(
    "headers, body, status, words",
    [
        ("Content-Length: abc\r\n", GOOD, 400, "Malformed Content-Length"),
        ("Content-Length: -5\r\n", GOOD, 400, "Malformed Content-Length"),
        ("Content-Length: 1e3\r\n", GOOD, 400, "Malformed Content-Length"),
        ("Transfer-Encoding: chunked\r\n", b"zz\r\n" + GOOD + b"\r\n0\r\n\r\n", 400, "is not a hexadecimal number"),
        ("Transfer-Encoding: chunked\r\n", b"5\r\n" + GOOD + b"\r\n0\r\n\r\n", 400, "longer than its size line"),
        ("Transfer-Encoding: chunked\r\n", b"ffffffffffffffffff\r\n", 400, "is not a hexadecimal number"),
        ("Content-Length: 99999999999\r\n", b"", 413, "too large"),
        ("Transfer-Encoding: chunked\r\n", (b"8000\r\n" + b"x" * 0x8000 + b"\r\n") * 3, 413, "too large"),
    ],
    ids=["cl-text", "cl-negative", "cl-float", "chunk-size-text", "chunk-too-long", "chunk-size-huge", "cl-huge", "chunked-huge"],
)
def test_malformed_or_oversized_framing_is_a_4xx_in_the_gateway_envelope(emu, headers, body, status, words):
    got, error = answer(send(emu, post(CHAT, headers, body)))
    assert got == status and words in error["error"]["message"]
    assert error["error"]["type"] == "invalid_request_error"


def test_deeply_nested_json_is_a_400(emu):
    for depth in (100, 30_000):  # under the recursion limit, and far beyond it
        body = b"[" * depth + b"]" * depth
        got, error = answer(send(emu, post(CHAT, f"Content-Length: {len(body)}\r\n", body)))
        assert got == 400 and "nests deeper than 64 levels" in error["error"]["message"]
    nested = {"model": "gpt-5-mini", "messages": [{"role": "user", "content": "hi"}], "x": [[[[[[[[1]]]]]]]]}
    ok = httpx.post(emu.url + CHAT, headers={"Authorization": f"Bearer {KEY}"}, json=nested)
    assert ok.status_code == 200  # ordinary nesting is fine


def test_an_oversized_body_on_an_anthropic_route_gets_anthropics_type(emu):
    raw = b"POST /anthropic/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n"
    got, error = answer(send(emu, raw))
    assert got == 413 and error["error"]["type"] == "request_too_large"


def test_a_body_shorter_than_its_content_length_is_dropped_after_the_idle_timeout(emu):
    started = time.monotonic()
    raw = send(emu, post(CHAT, "Content-Length: 500\r\n", b'{"model"'), timeout=5)
    assert raw == b"" and time.monotonic() - started < 3  # closed at the idle timeout (0.5 s), no answer


def test_half_open_connections_are_closed_and_do_not_pile_up_threads(emu):
    host, port = emu.url.removeprefix("http://").split(":")
    before = threading.active_count()
    sockets = [socket.create_connection((host, int(port))) for _ in range(40)]
    try:
        for sock in sockets[:20]:
            sock.sendall(b"POST /openai/v1/chat/completions HTTP/1.1\r\nHost: x\r\n")  # headers never finish
        time.sleep(0.2)
        assert threading.active_count() > before  # each got a thread
        deadline = time.monotonic() + 5
        while threading.active_count() > before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert threading.active_count() <= before  # all closed at the idle timeout
        for sock in sockets:
            sock.settimeout(1)
            assert sock.recv(100) == b""  # the server closed its side
    finally:
        for sock in sockets:
            sock.close()
    ok = httpx.post(emu.url + CHAT, headers={"Authorization": f"Bearer {KEY}"}, content=GOOD)
    assert ok.status_code == 200  # and it still serves


def test_connections_beyond_the_cap_are_closed_without_a_thread():
    with Emulator(api_key=KEY, max_connections=5, idle_timeout=5) as emu:
        host, port = emu.url.removeprefix("http://").split(":")
        before = threading.active_count()
        sockets = [socket.create_connection((host, int(port))) for _ in range(30)]
        try:
            time.sleep(0.5)
            assert threading.active_count() - before <= 5
            refused = 0
            for sock in sockets:
                sock.settimeout(0.2)
                try:
                    refused += sock.recv(10) == b""
                except TimeoutError:
                    pass
            assert refused >= 25
        finally:
            for sock in sockets:
                sock.close()


def test_the_request_log_is_bounded(monkeypatch):
    monkeypatch.setattr(emulator_module, "REQUEST_LOG_LIMIT", 10)
    with Emulator(api_key=KEY) as emu, httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {KEY}"}) as client:
        for n in range(25):
            client.post(CHAT, json={"model": "gpt-5-mini", "messages": [{"role": "user", "content": f"n{n}"}]})
        assert len(emu.requests) == 10
        assert emu.requests[-1].json["messages"][0]["content"] == "n24"  # the newest are kept


def test_a_large_body_is_logged_without_its_json(monkeypatch):
    monkeypatch.setattr(emulator_module, "REQUEST_LOG_BODY_BYTES", 100)
    with Emulator(api_key=KEY) as emu:
        big = {"model": "gpt-5-mini", "messages": [{"role": "user", "content": "x" * 500}]}
        httpx.post(emu.url + CHAT, headers={"Authorization": f"Bearer {KEY}"}, json=big)
        assert emu.requests[-1].json is None and emu.requests[-1].model == "gpt-5-mini"


# --------------------------------------------------------------------------- pytest-anyint emulate


def run_emulate(*args: str, env: dict[str, str] | None = None) -> tuple[str, str, int]:
    """Start ``pytest-anyint emulate``, read its start-up lines, stop it with Ctrl-C."""
    command = [sys.executable, "-m", "pytest_anyint.cli", "emulate", "--port", "0", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
    try:
        line = process.stdout.readline()
        url = line.split(" on ", 1)[1].split(" ", 1)[0] if " on " in line else ""
        if url:
            process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    return line + out, err, process.returncode


def test_the_start_up_banner_never_prints_the_key(tmp_path):
    out, err, code = run_emulate("--api-key", KEY)
    assert code == 0 and "listening on http://127.0.0.1:" in out
    assert KEY not in out + err and "not shown" in out and err == ""
    out, err, code = run_emulate("--api-key-env", "EMU_TEST_KEY", env={"EMU_TEST_KEY": KEY})
    assert code == 0 and KEY not in out + err and "from $EMU_TEST_KEY" in out
    out, err, code = run_emulate("--api-key-env", "EMU_TEST_KEY_UNSET")
    assert code == 2 and err.strip() == "pytest-anyint emulate: --api-key-env EMU_TEST_KEY_UNSET: that variable is not set or empty"


def test_binding_to_every_interface_warns_in_one_line():
    out, err, code = run_emulate("--host", "0.0.0.0", "--api-key", KEY)
    assert code == 0 and "listening on http://0.0.0.0:" in out
    (warning,) = err.strip().splitlines()
    assert warning.startswith("warning: the emulator listens on 0.0.0.0, which other machines can reach")
    assert KEY not in out + err


def test_loopback_addresses():
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.5", "example.com"))


def test_emulate_serves_the_projects_models_and_rejects_a_bad_config(tmp_path):
    (tmp_path / "anyint.yaml").write_text("version: 1\nroutes:\n  x:\n    family: openai\n    primary: my-org/own-model\n")
    command = [sys.executable, "-m", "pytest_anyint.cli", "emulate", "--port", "0", "--api-key", KEY]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().split(" on ", 1)[1].split(" ", 1)[0]
        listing = httpx.get(url + "/openai/v1/models", headers={"Authorization": f"Bearer {KEY}"}).json()
        assert "my-org/own-model" in [m["id"] for m in listing["data"]]
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    (tmp_path / "anyint.yaml").write_text("version: 1\nroutes: {}\n")
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "expected at least one route" in done.stderr


def test_a_port_in_use_is_one_line_and_exit_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        command = [sys.executable, "-m", "pytest_anyint.cli", "emulate", "--port", port]
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"pytest-anyint emulate: cannot listen on 127.0.0.1:{port}: ")
