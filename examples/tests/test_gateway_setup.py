"""The set-up the gateway's docs ask for before anything else: the Models API lists every model
the app is configured for, the app reads the same chains as the tests, and its production clients
are configured the way the gateway documents."""

from __future__ import annotations

import pytest
from invoice_app import Clients, sdk_kwargs
from invoice_app.routes import load_routes, missing_models
from invoice_app.summarize import summarize


@pytest.mark.route("extract", models="primary")
def test_every_configured_model_is_listed_by_the_models_api(clients, anyint_calls):
    assert missing_models(clients) == []
    assert [call.endpoint for call in anyint_calls] == ["/openai/v1/models"]


@pytest.mark.route("chat", models="primary")
def test_the_anthropic_models_api_lists_the_chat_models(clients):
    listed = {model.id for model in clients.anthropic.models.list()}

    assert {link.model for link in load_routes()["chat"]} <= listed


def test_the_app_reads_the_same_chains_as_the_tests(anyint_config):
    app = {label: [(link.model, link.family) for link in chain] for label, chain in load_routes().items()}
    plugin = {label: [(m.model, m.family) for m in route.chain] for label, route in anyint_config.routes.items()}

    assert app == plugin


@pytest.mark.parametrize("family", ["openai", "anthropic", "gemini"])
def test_production_clients_are_pointed_at_the_gateway_as_documented(anyint_gateway, family):
    """The app's own client settings (used in production, where the plugin is absent) equal the
    plugin's: same base URL, api_version and auth headers per family."""
    app = sdk_kwargs(family, anyint_gateway.url, anyint_gateway.api_key)
    assert _comparable(app) == _comparable(anyint_gateway.sdk_kwargs(family))


def _comparable(value):
    """The kwargs with the SDK's Omit() sentinel (a fresh object each time) made comparable.

    ``async_client_args`` is left out: the plugin adds an httpx2 transport there only so that
    google-genai's async client stays visible to it when aiohttp is installed.
    """
    from anthropic import Omit

    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items() if k != "async_client_args"}
    return "<omitted>" if isinstance(value, Omit) else value


@pytest.mark.route("summarize", models="primary")
def test_production_clients_from_the_environment_run_the_configured_chain(
    anyint_gateway, anyint_route, anyint_calls, monkeypatch, email_text
):
    """The production path end to end: clients from ANYINT_BASE_URL / ANYINT_API_KEY, and the
    chain from anyint.yaml (no chain argument), whose primary answers."""
    monkeypatch.setenv("ANYINT_BASE_URL", anyint_gateway.url)
    monkeypatch.setenv("ANYINT_API_KEY", anyint_gateway.api_key)
    production = Clients.from_env(max_retries=0)
    try:
        answered = summarize(email_text, clients=production)
    finally:
        production.close()

    assert answered.model == anyint_route.model and not answered.fell_back
    assert anyint_calls.models() == [anyint_route.model]
