"""The plugin hooks: endpoint choice, global options, python-qinlingclient installed too."""

import argparse
import types

import pytest
from qinling_lite_client.osc import plugin


def instance(qinling_url=None, endpoint="http://catalog:7070"):
    """A fake osc ClientManager."""
    return types.SimpleNamespace(
        session="session",
        region_name="r",
        interface="public",
        get_configuration=lambda: {"qinling_url": qinling_url},
        get_endpoint_for_service_type=lambda service, region_name, interface: (
            endpoint
            if (service, region_name, interface) == ("function-engine", "r", "public")
            else None
        ),
    )


def test_the_endpoint_is_qinling_url_else_the_function_engine_service():
    assert plugin.make_client(instance("http://given:1/")).url == "http://given:1/v1"
    assert plugin.make_client(instance()).url == "http://catalog:7070/v1"


def test_options_alone(monkeypatch, capsys):
    monkeypatch.setattr(plugin, "rival_installed", lambda: False)
    monkeypatch.setenv("QINLING_URL", "http://env:1")
    parsed = plugin.build_option_parser(argparse.ArgumentParser()).parse_args([])
    assert (parsed.qinling_url, parsed.os_function_engine_api_version) == ("http://env:1", "1")
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("last", "winner"),
    [
        (plugin.__name__, "qinling-lite-client"),
        ("qinlingclient.osc.plugin", "python-qinlingclient"),
    ],
)
def test_with_python_qinlingclient_it_says_which_commands_run(monkeypatch, capsys, last, winner):
    monkeypatch.setattr(plugin, "rival_installed", lambda: True)
    monkeypatch.setattr(plugin, "in_effect", lambda: last)
    parser = argparse.ArgumentParser()
    plugin.build_option_parser(parser)
    # python-qinlingclient defines the same two options; defining them twice would fail.
    parser.add_argument("--qinling-url")
    parser.add_argument("--os-function-engine-api-version")
    err = capsys.readouterr().err
    assert f"and {winner}'s run here" in err
    assert "pip uninstall python-qinlingclient" in err


def test_in_effect_is_the_last_registered_plugin():
    assert plugin.in_effect() == plugin.__name__  # the only one in this environment
