"""A replay builds no TLS context: httpx transports build their pool at their first network request.

Each ``httpx.Client()`` (and each SDK client) loads the CA bundle into a new TLS context as it is
made, about 50 ms; a replayed request never reaches the pool that context is for. In a session
with route cases the plugin defers it (``run.lazy_pools``): these tests hold it to building the
pool the moment anything needs it, with the arguments the app gave, and to reporting a bad one
then, on every use.
"""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
import httpx2
import pytest

from pytest_anyint.emulator import Emulator
from pytest_anyint.run import interceptor, lazy_pools

from .helpers import OPENAI_TEST

#: Counts the CA bundles loaded (every TLS context an httpx transport builds loads one) and the
#: modules imported, written when the session ends.
CA_LOADS_AT_EXIT = '''
import json, ssl, sys

LOADS = []
_real = ssl.SSLContext.load_verify_locations


def _counted(self, *args, **kwargs):
    LOADS.append(1)
    return _real(self, *args, **kwargs)


ssl.SSLContext.load_verify_locations = _counted


def pytest_unconfigure(config):
    with open("ca_loads.json", "w") as handle:
        json.dump({"loads": len(LOADS), "modules": sorted(sys.modules)}, handle)
'''

#: The SDK built the plain way, once per test: each test's client would load a CA bundle.
PLAIN_CLIENT_PER_TEST = """
import os
import pytest
from openai import OpenAI

@pytest.fixture
def client(anyint_gateway):
    return OpenAI(api_key=os.environ.get("ANYINT_API_KEY", "unset"), base_url=anyint_gateway.base_url("openai"), max_retries=0)

@pytest.mark.route("extract")
def test_extract(client, anyint_route):
    answer = client.chat.completions.create(
        model=anyint_route.model, messages=[{"role": "user", "content": "vendor: ACME"}]
    )
    assert anyint_route.model in answer.choices[0].message.content
"""


def _probe(project) -> dict:
    return json.loads((project.root / "ca_loads.json").read_text())


@pytest.mark.parametrize("test_app", [OPENAI_TEST, PLAIN_CLIENT_PER_TEST], ids=["sdk-kwargs", "plain-client-per-test"])
def test_a_replay_loads_no_ca_bundle_and_a_recording_does(project, test_app):
    project.tests(test_app=test_app, conftest=CA_LOADS_AT_EXIT)
    project.pytester.runpytest_subprocess("--anyint-record=once", "--anyint-emulator", "-p", "no:randomly").assert_outcomes(passed=2)
    assert _probe(project)["loads"] >= 1  # recording went to the network (the emulator): the pool was built
    assert len(project.cassettes()) == 2

    result = project.pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=2)
    probe = _probe(project)
    assert probe["loads"] == 0
    assert "httpcore" not in {name.split(".")[0] for name in probe["modules"]}


def test_a_session_without_route_cases_leaves_httpx_alone(project):
    project.tests(
        conftest=CA_LOADS_AT_EXIT,
        test_plain="""
        import httpx

        def test_client():
            with httpx.Client() as client:
                assert "_pool" in vars(client._transport)  # built as httpx builds it
            assert "_anyint_lazy_pool" not in vars(httpx.HTTPTransport)
        """,
    )

    result = project.pytester.runpytest_subprocess("-p", "no:randomly")

    result.assert_outcomes(passed=1)
    assert _probe(project)["loads"] == 1


@pytest.fixture(scope="module")
def emulator():
    with Emulator(api_key="lazy-pool-key") as running:
        yield running


@pytest.fixture(autouse=True)
def _installed():
    interceptor.install()  # what a session with route cases does after collection
    assert interceptor._active is None  # outside a case every request goes to the network


@pytest.mark.parametrize("module", [httpx, httpx2], ids=["httpx", "httpx2"])
def test_the_first_network_request_builds_the_pool_with_the_apps_arguments(module, emulator):
    with module.Client(base_url=emulator.url, timeout=7.5) as client:
        transport = client._transport
        assert not lazy_pools.built(transport)

        response = client.get("/openai/v1/models", headers={"Authorization": f"Bearer {emulator.api_key}"})

        assert response.status_code == 200
        assert lazy_pools.built(transport)
        assert transport._pool is transport._pool  # built once


@pytest.mark.parametrize("module", [httpx, httpx2], ids=["httpx", "httpx2"])
def test_entering_and_closing_an_unused_client_builds_nothing(module):
    with module.Client() as client:
        pass
    assert not lazy_pools.built(client._transport)
    other = module.Client()
    other.close()
    assert not lazy_pools.built(other._transport)


@pytest.mark.filterwarnings("ignore:`verify=<str>` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("module", [httpx, httpx2], ids=["httpx", "httpx2"])
def test_a_bad_argument_fails_every_network_request_as_httpx_would_fail_the_client(module, emulator, tmp_path):
    missing = tmp_path / "no-such-ca.pem"
    client = module.Client(verify=str(missing))  # eager httpx: FileNotFoundError here

    for _ in range(2):  # not once and then a confusing AttributeError
        with pytest.raises(FileNotFoundError):
            client.get(f"{emulator.url}/openai/v1/models")


def test_threads_that_first_use_a_transport_together_share_one_pool():
    transport = httpx.HTTPTransport()
    pools: list[object] = []
    start = threading.Barrier(8)

    def use() -> None:
        start.wait()
        pools.append(transport._pool)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(pools) == 8 and len({id(pool) for pool in pools}) == 1


def test_a_subclass_keeps_its_own_set_up(emulator):
    class Tagged(httpx.HTTPTransport):
        def __init__(self, tag: str, **kwargs: object) -> None:
            super().__init__(**kwargs)
            self.tag = tag

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            request.headers["x-tag"] = self.tag
            return super().handle_request(request)

    transport = Tagged("blue", retries=0)
    assert transport.tag == "blue" and not lazy_pools.built(transport)
    with httpx.Client(transport=transport) as client:
        response = client.get(f"{emulator.url}/openai/v1/models", headers={"Authorization": f"Bearer {emulator.api_key}"})
    assert response.status_code == 200 and lazy_pools.built(transport)


@pytest.mark.parametrize("module", [httpx, httpx2], ids=["httpx", "httpx2"])
def test_async_clients_alike(module, emulator):
    async def main() -> tuple[bool, int, bool]:
        async with module.AsyncClient() as unused:
            pass
        async with module.AsyncClient(base_url=emulator.url) as client:
            before = lazy_pools.built(client._transport)
            response = await client.get("/openai/v1/models", headers={"Authorization": f"Bearer {emulator.api_key}"})
            return lazy_pools.built(unused._transport) or before, response.status_code, lazy_pools.built(client._transport)

    built_early, status, built_after = asyncio.run(main())

    assert (built_early, status, built_after) == (False, 200, True)
