"""The core loop as a user meets it: one test, run per model, recorded once, replayed offline."""

from __future__ import annotations

import pytest

from .helpers import OPENAI_TEST, assert_output


def test_runs_once_per_model_with_stable_ids(project):
    project.tests(test_app=OPENAI_TEST)
    result = project.pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "test_app.py::test_extract[extract-primary-gpt-5-mini]",
            "test_app.py::test_extract[extract-fallback1-deepseek-v3.2-exp]",
        ]
    )


def test_records_each_model_into_its_own_cassette_then_replays_offline(project):
    project.tests(test_app=OPENAI_TEST)
    recorded = project.record()
    recorded.assert_outcomes(passed=2)
    assert project.cassettes() == [
        "test_app/test_extract/extract/deepseek-v3.2-exp.yaml",
        "test_app/test_extract/extract/gpt-5-mini.yaml",
    ]
    replayed = project.replay()  # no key, no emulator: the gateway URL is unreachable from here
    replayed.assert_outcomes(passed=2)


def test_a_fallback_is_never_served_the_primarys_answer(project):
    project.tests(test_app=OPENAI_TEST)
    project.record().assert_outcomes(passed=2)
    primary = project.cassette("test_app/test_extract/extract/gpt-5-mini.yaml")
    fallback = project.cassette("test_app/test_extract/extract/deepseek-v3.2-exp.yaml")
    fallback.write_text(primary.read_text())  # the fallback's cassette now holds the primary's exchange
    result = project.replay()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*deepseek-v3.2-exp*was not recorded*closest recording differs*model*"])


def test_deleting_a_cassette_fails_exactly_that_case_with_the_record_command(project):
    project.tests(test_app=OPENAI_TEST)
    project.record().assert_outcomes(passed=2)
    project.cassette("test_app/test_extract/extract/deepseek-v3.2-exp.yaml").unlink()
    result = project.replay()
    result.assert_outcomes(passed=1, failed=1)
    assert_output(
        result,
        "POST /openai/v1/chat/completions (model deepseek-v3.2-exp) was not recorded: there is no cassette "
        "cassettes/test_app/test_extract/extract/deepseek-v3.2-exp.yaml. Record it with: "
        'pytest --anyint-record=once "test_app.py::test_extract[extract-fallback1-deepseek-v3.2-exp]"',
    )
    assert "Traceback" not in result.stdout.str()


def test_models_option_selects_and_keeps_fallback_numbering(project):
    project.tests(
        test_app="""
        import pytest

        @pytest.mark.route("extract", models="fallbacks")
        def test_fallbacks(anyint_route):
            assert anyint_route.role == "fallback" and anyint_route.position == 1

        @pytest.mark.route("extract", models=["deepseek-v3.2-exp"])
        def test_listed(anyint_route):
            assert anyint_route.model == "deepseek-v3.2-exp"

        @pytest.mark.route("extract", models="primary")
        def test_primary(anyint_route):
            assert anyint_route.role == "primary" and anyint_route.model == "gpt-5-mini"
        """
    )
    result = project.replay("-v")
    result.assert_outcomes(passed=3)
    assert_output(
        result,
        "test_fallbacks[extract-fallback1-deepseek-v3.2-exp] PASSED",
        "test_listed[extract-fallback1-deepseek-v3.2-exp] PASSED",
        "test_primary[extract-primary-gpt-5-mini] PASSED",
    )


def test_a_case_without_gateway_calls_still_writes_an_empty_cassette(project):
    project.tests(
        test_app="""
        import pytest

        @pytest.mark.route("extract", models="primary")
        def test_nothing(anyint_route):
            pass
        """
    )
    project.record().assert_outcomes(passed=1)
    text = project.cassette("test_app/test_nothing/extract/gpt-5-mini.yaml").read_text()
    assert "interactions: []" in text
    assert "route: extract" in text


def test_hard_coded_model_fails_saying_which_model_it_sent(project):
    project.tests(
        test_app="""
        import pytest
        from openai import OpenAI

        @pytest.mark.route("extract", models="primary")
        def test_hardcoded(anyint_route):
            client = OpenAI(base_url=anyint_route.base_url, api_key=anyint_route.api_key, max_retries=0)
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
        """
    )
    result = project.record()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the app requested model 'gpt-4o'*not in route 'extract'*pass anyint_route.model*"])
    assert project.cassettes() == []  # a refused request is never recorded


def test_first_request_must_name_the_cases_model(project):
    project.tests(
        test_app="""
        import pytest
        from openai import OpenAI

        @pytest.mark.route("extract", models="fallbacks")
        def test_primary_always(anyint_route):
            client = OpenAI(base_url=anyint_route.base_url, api_key=anyint_route.api_key, max_retries=0)
            client.chat.completions.create(model="gpt-5-mini", messages=[{"role": "user", "content": "x"}])
        """
    )
    result = project.record()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the case runs 'deepseek-v3.2-exp', but the app's first request named 'gpt-5-mini'*"])


def test_wrong_auth_header_style_fails_in_replay_not_only_live(project):
    project.tests(
        test_app="""
        import pytest

        @pytest.mark.route("chat", models="primary")
        def test_bearer_on_anthropic(anyint_route):
            with anyint_route.client() as client:
                client.post("/v1/messages", json={"model": anyint_route.model, "max_tokens": 8,
                                                  "messages": [{"role": "user", "content": "hi"}]}).raise_for_status()
        """
    )
    project.record().assert_outcomes(passed=1)
    project.tests(
        test_app="""
        import pytest

        @pytest.mark.route("chat", models="primary")
        def test_bearer_on_anthropic(anyint_route):
            import httpx
            with httpx.Client(base_url=anyint_route.base_url,
                              headers={"Authorization": f"Bearer {anyint_route.api_key}"}) as client:
                client.post("/v1/messages", json={"model": anyint_route.model, "max_tokens": 8,
                                                  "messages": [{"role": "user", "content": "hi"}]})
        """
    )
    result = project.replay()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*missing the anthropic auth header(s) x-api-key, anthropic-version*"])


def test_semantic_json_matching_ignores_key_order_and_match_ignore_paths(project):
    project.config(
        """
        version: 1
        routes:
          extract:
            family: openai
            primary: gpt-5-mini
            match_ignore: [metadata.run_id]
        """
    )
    body = 'json={"model": anyint_route.model, "messages": [{"role": "user", "content": "x"}], "metadata": {"run_id": RUN}}'
    template = """
        import pytest, uuid
        RUN = %s

        @pytest.mark.route("extract")
        def test_post(anyint_route):
            with anyint_route.client() as client:
                client.post("/chat/completions", %s).raise_for_status()
        """
    project.tests(test_app=template % ('"first"', body))
    project.record().assert_outcomes(passed=1)
    reordered = 'json={"metadata": {"run_id": RUN}, "messages": [{"content": "x", "role": "user"}], "model": anyint_route.model}'
    project.tests(test_app=template % ("str(uuid.uuid4())", reordered))
    project.replay().assert_outcomes(passed=1)
    project.tests(test_app=template % ('"first"', body.replace('"x"', '"changed prompt"')))
    result = project.replay()
    result.assert_outcomes(failed=1)
    assert_output(result, "closest recording differs in json_body: $.messages[0].content: \"changed prompt\" (recorded \"x\")")


def test_replay_blocks_the_network_loudly(project):
    project.tests(
        test_app="""
        import httpx, pytest

        @pytest.mark.route("extract", models="primary")
        def test_elsewhere(anyint_route):
            httpx.get("https://example.com/")
        """
    )
    result = project.replay()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*pytest-anyint refused a connection to example.com: in replay mode*nothing leaves the machine*--anyint-allow-host example.com*"])


def test_unmarked_tests_are_untouched(project):
    project.tests(
        test_app="""
        import httpx

        def test_plain(anyint_config):
            assert "extract" in anyint_config.routes
        """
    )
    project.replay().assert_outcomes(passed=1)


def test_no_test_sets_up_a_case_fixture(project):
    """A fixture is pytest's dearest per-test cost: the case is opened by hooks, so an unmarked test
    sets up nothing of the plugin's and a marked one only the fixtures it asks for."""
    project.tests(
        test_app="""
        import pytest

        def test_plain():
            pass

        @pytest.mark.route("extract", models="primary")
        def test_marked(anyint_route):
            pass
        """
    )
    project.record()
    result = project.replay("--setup-show")
    result.assert_outcomes(passed=2)
    used = {line.split()[0]: line for line in result.stdout.lines if "(fixtures used:" in line and "::test_" in line}
    marked = next(line for name, line in used.items() if "test_marked" in name)
    assert "_anyint_case" not in used["test_app.py::test_plain"] and "anyint" not in used["test_app.py::test_plain"]
    assert "anyint_route" in marked and "_anyint_case" not in marked


def test_a_function_fixtures_calls_are_the_cases_and_wider_fixtures_come_first(project):
    """The case opens where an autouse fixture would: after the session's fixtures (a client, the
    emulator), before the test's function-scoped ones, so what a fixture asks the gateway is
    recorded into and replayed from the case's cassette."""
    project.tests(
        test_app="""
        import httpx
        import pytest

        @pytest.fixture(scope="session")
        def client(anyint_gateway):
            with httpx.Client(base_url=anyint_gateway.base_url("openai"), headers=anyint_gateway.headers("openai")) as c:
                yield c

        @pytest.fixture
        def warmed(client, anyint_route):
            body = {"model": anyint_route.model, "messages": [{"role": "user", "content": "warm up"}]}
            return client.post("/chat/completions", json=body)

        @pytest.mark.route("extract")
        def test_app(warmed, anyint_calls):
            assert warmed.status_code == 200
            print("SOURCES", [call.source for call in anyint_calls])
        """
    )
    recorded = project.record("-s")
    recorded.assert_outcomes(passed=2)
    assert recorded.stdout.str().count("SOURCES ['network']") == 2
    assert len(project.cassettes()) == 2
    replayed = project.replay("-s")
    replayed.assert_outcomes(passed=2)
    assert replayed.stdout.str().count("SOURCES ['cassette']") == 2


def test_a_case_that_cannot_open_fails_its_setup_in_one_line_and_the_next_test_runs(project):
    """The cassette's one line, not the error of a fixture set up after it (``anyint_route``
    without a case); and pytest's own state stays sound for the next test."""
    project.tests(
        test_app="""
        import pytest

        @pytest.fixture
        def app(anyint_route):
            return anyint_route.model

        @pytest.mark.route("extract", models="primary")
        def test_first(app):
            pass

        @pytest.mark.route("extract", models="primary")
        def test_second(app):
            assert app == "gpt-5-mini"
        """
    )
    broken = project.cassette("test_app/test_first/extract/gpt-5-mini.yaml")
    broken.parent.mkdir(parents=True)
    broken.write_text("interactions: [\n")
    result = project.replay("-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(["*ERROR at setup of test_first*", "*gpt-5-mini.yaml*"])
    assert "needs a route marker" not in out and "Traceback" not in out
    assert broken.read_text() == "interactions: [\n"  # never rewritten


def test_fixtures_need_a_route_marker(project):
    project.tests(
        test_app="""
        def test_no_marker(anyint_route):
            pass
        """
    )
    result = project.replay()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*test_app.py::test_no_marker: the anyint_route fixture needs a route marker*"])


def test_fixture_asked_for_inside_the_test_names_it(project):
    """``request.getfixturevalue`` in the body sets the case fixture up during the call, not the
    setup: the message still names the test, and a marked test still gets its case."""
    project.tests(
        test_app="""
        import pytest

        def test_dynamic(request):
            request.getfixturevalue("anyint_route")

        @pytest.mark.route("extract", models="primary")
        def test_marked_dynamic(request):
            assert request.getfixturevalue("anyint_route").role == "primary"
        """
    )
    project.record()
    result = project.replay()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_app.py::test_dynamic: the anyint_route fixture needs a route marker*"])


def test_no_fixture_of_a_route_case_asks_for_request(project):
    """pytest builds a fixture definition (an ``inspect.signature`` call) for every ``request`` a
    fixture asks for, three times per test for a function-scoped one: ~0.2 ms of a replayed test.
    The case and its fixtures read the running item instead."""
    project.tests(
        test_app="""
        import pytest
        from _pytest import fixtures

        MADE = []
        _original = fixtures.RequestFixtureDef.__init__

        def _counted(self, request):
            MADE.append(getattr(request, "fixturename", None))  # the fixture that asked
            _original(self, request)

        fixtures.RequestFixtureDef.__init__ = _counted

        @pytest.mark.route("extract")
        def test_marked(anyint_route, anyint_calls, anyint_faults, anyint_scenario):
            pass

        @pytest.fixture
        def asks(request):
            return request

        def test_counter_counts(asks):
            assert "asks" in MADE  # the counter sees a fixture that asks

        def test_last():
            ours = {"_anyint_case", "anyint_route", "anyint_calls", "anyint_faults", "anyint_scenario"}
            assert ours.isdisjoint(MADE), MADE
        """
    )
    project.record()
    project.replay("-p", "no:randomly").assert_outcomes(passed=4)


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ('@pytest.mark.route("extrct")', "*no route 'extrct' (did you mean 'extract'?)*"),
        ('@pytest.mark.route("extract", models="secondary")', "*models= takes*"),
        ('@pytest.mark.route("extract", models=["gpt-4o"])', "*'gpt-4o' is not in the route*"),
        ('@pytest.mark.route("extract", faults=["boom"])', "*'boom' is neither an HTTP status nor a fault kind*"),
        ('@pytest.mark.route("extract", model="x")', "*unknown option(s) model*"),
        ('@pytest.mark.route("extract")\n@pytest.mark.route("chat")', "*has 2 route markers*"),
    ],
)
def test_bad_markers_fail_collection_with_one_line(project, marker, message):
    project.tests(test_app=f"import pytest\n\n{marker}\ndef test_x():\n    pass\n")
    result = project.replay()
    assert result.ret != 0
    result.stdout.fnmatch_lines([message])
    assert "Traceback" not in result.stdout.str()


def test_malformed_config_is_one_clear_line(project):
    (project.root / "anyint.yaml").write_text("version: 1\nroutes:\n  extract:\n    family: opneai\n    primary: a\n")
    project.tests(test_app="import pytest\n\n@pytest.mark.route('extract')\ndef test_x():\n    pass\n")
    result = project.replay()
    assert result.ret != 0
    result.stdout.fnmatch_lines(
        ["*anyint.yaml: routes.extract.family: 'opneai' is not one of: openai, anthropic, gemini, media, music (did you mean 'openai'?)*"]
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_malformed_config_with_an_option_is_a_usage_error(project):
    (project.root / "anyint.yaml").write_text("version: 1\nroutes: [\n")
    result = project.pytester.runpytest("--anyint-record=once")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*anyint.yaml:*not valid YAML*"])


def test_recording_without_a_key_says_where_the_key_goes(project):
    project.tests(test_app=OPENAI_TEST)
    result = project.pytester.runpytest("--anyint-record=once")
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # one session error, not one per test
    result.stderr.fnmatch_lines(["ERROR: recording needs the gateway key in $ANYINT_API_KEY*--anyint-emulator*"])
    assert (result.stdout.str() + result.stderr.str()).count("recording needs the gateway key") == 1


def test_other_parametrizations_combine_and_name_the_cassette(project):
    project.tests(
        test_app="""
        import pytest

        @pytest.mark.parametrize("lang", ["en", "de"], ids=["en", "de"])
        @pytest.mark.route("extract", models="primary")
        def test_lang(anyint_route, lang):
            with anyint_route.client() as client:
                client.post("/chat/completions", json={"model": anyint_route.model,
                            "messages": [{"role": "user", "content": lang}]}).raise_for_status()

        @pytest.mark.parametrize("obj", [object()])
        @pytest.mark.route("extract", models="primary")
        def test_auto(anyint_route, obj):
            pass
        """
    )
    result = project.record()
    result.assert_outcomes(passed=3, warnings=1)
    assert_output(result, "parametrize id 'obj0' is position-based")
    assert "test_app/test_lang/extract/gpt-5-mini__en.yaml" in project.cassettes()
    assert "test_app/test_lang/extract/gpt-5-mini__de.yaml" in project.cassettes()
    project.replay().assert_outcomes(passed=3)


def test_keyless_replay_sets_a_placeholder_key_for_apps_that_read_the_environment(project):
    project.tests(
        test_app="""
        import os, pytest

        @pytest.mark.route("extract", models="primary")
        def test_env(anyint_route):
            assert os.environ["ANYINT_API_KEY"] == anyint_route.api_key
            assert anyint_route.api_key and "placeholder" in anyint_route.api_key
        """
    )
    project.replay().assert_outcomes(passed=1)
