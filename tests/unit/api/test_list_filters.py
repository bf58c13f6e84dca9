"""Every list takes filters on its resource's own columns, in Qinling's ``op:value``
forms: what the ``openstack ... list --filter k=v`` commands send."""

import urllib.parse

import pytest

from tests.unit.api.test_negotiation import call, fault, world  # noqa: F401

# (list path, its key, the seeded item's id name, {filter: the item's field it matches}).
LISTS = [
    ("/v1/runtimes", "runtimes", "runtime", ("name", "image", "status")),
    ("/v1/functions", "functions", "function", ("name", "runtime_id")),
    ("/v1/jobs", "jobs", "job", ("name", "status", "function_id")),
    ("/v1/webhooks", "webhooks", "webhook", ("function_id", "function_alias", "description")),
]


def _listed(app, path, key, **query):
    response = call(app, "GET", f"{path}?{urllib.parse.urlencode(query)}")
    assert response.status_int == 200, response.text
    return [
        item["name"] if key == "function_aliases" else item["id"] for item in response.json[key]
    ]


@pytest.mark.parametrize(("path", "key", "seeded", "columns"), LISTS, ids=[p for p, *_ in LISTS])
def test_a_list_filters_on_each_column(world, path, key, seeded, columns):  # noqa: F811
    app, _, ids = world
    item = call(app, "GET", f"{path}/{ids[seeded]}").json
    for column in columns:
        value = item[column]
        if value is None:  # nothing to match but its absence
            continue
        assert _listed(app, path, key, **{column: value}) == [ids[seeded]], column
        assert _listed(app, path, key, **{column: f"neq:{value}"}) == [], column
        assert _listed(app, path, key, **{column: f"in:x,{value}"}) == [ids[seeded]], column
        assert _listed(app, path, key, **{column: "no-such-value"}) == [], column


def test_aliases_filter_by_name_and_function(world):  # noqa: F811
    app, _, ids = world
    assert _listed(app, "/v1/aliases", "function_aliases", name="a1") == ["a1"]
    assert _listed(app, "/v1/aliases", "function_aliases", function_id=ids["function"]) == ["a1"]
    assert _listed(app, "/v1/aliases", "function_aliases", name="has:1") == ["a1"]
    assert _listed(app, "/v1/aliases", "function_aliases", name="a2") == []


def test_a_column_a_list_does_not_filter_on_is_a_400(world):  # noqa: F811
    app, _, _ = world
    response = call(app, "GET", "/v1/runtimes?trusted=true")
    assert response.status_int == 400
    assert fault(response) == 'Unknown argument: "trusted"'
