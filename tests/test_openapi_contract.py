"""The OpenAPI description is a contract: a bounded Schemathesis run against a real server.

`clientele serve` runs as its own process on the suite's database (SQLite, or
TEST_DATABASE_URL when set) and Schemathesis sends it generated requests for every
operation in /openapi.json: the examples, coverage and fuzzing phases, positive and
negative, then the stateful phase, which chains calls along the document's OpenAPI links
(create a customer, then read, change, delete and restore it, give it an address, tag it...).
Every answer must be a documented status with a documented content type, headers and a body
matching its schema; none may be a server error; a created record must be readable at once;
a request without a valid token must be refused; and a second business, replaying the first
one's successful reads, must never get the first one's records. The links themselves are
checked against the document: each names an operation and parameters it has.
"""

import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.cli.processes import Server, serving
from tests.conftest import new_business, new_token

SCHEMATHESIS = str(Path(sys.executable).parent / "st")
HOOKS = Path(__file__).with_name("openapi_contract_hooks.py")
# Checks that do not fit this contract:
# - use_after_free: delete is soft, and a deleted record stays readable with its `deleted_at` (SPEC §5);
# - positive_data_acceptance, negative_data_rejection: JSON Schema cannot say what the API checks
#   (a phone possible for its dial code, ids that exist, unique names), and the API accepts what
#   docs/decisions.md promises beyond the schema ("" for null, digit strings for integers).
#   The lists' query parameters can be typed exactly; the test after this one checks them so.
EXCLUDED_CHECKS = "use_after_free,positive_data_acceptance,negative_data_rejection"
# About 1,400 requests in all; the seed makes a failure reproducible.
MAX_EXAMPLES = 10
SCENARIOS = 30
MAX_STEPS = 8
SEED = 20_240_501
# A budget the run cannot spend: no answer is a 429, and the rate limit headers stay on.
RATE_LIMIT_PER_MINUTE = 1_000_000
IDENTITIES = ("owner", "other")


@pytest.fixture(scope="module")
def server(
    database_url: str, client: TestClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, dict[str, str]]]:
    """`clientele serve` on the suite's database, and a token of a business of its own per identity."""
    tokens = {
        identity: new_token(client, new_business(client, f"Contract {identity}")).token for identity in IDENTITIES
    }
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("RATE_LIMIT_PER_MINUTE", str(RATE_LIMIT_PER_MINUTE))
        with serving(database_url, tmp_path_factory.mktemp("contract")) as [running]:
            yield running, tokens


def write_config(directory: Path, tokens: dict[str, str]) -> Path:
    """Schemathesis's configuration: the budget, the hooks, and both businesses' tokens."""
    auth = directory / "auth.json"
    auth.write_text(
        json.dumps(
            {
                "auth": [
                    {"name": identity, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {token}"}]}
                    for identity, token in tokens.items()
                ]
            }
        )
    )
    config = directory / "schemathesis.toml"
    config.write_text(f"""
seed = {SEED}
# One worker: with two, its threads parse lambdas' source at once, and CPython 3.11's shared AST
# state then fails one of them now and then ("AST constructor recursion depth mismatch",
# python/cpython#106905), a failure of the tool's run, not of the API.
workers = 1
request-timeout = 10
hooks = "{HOOKS}"

[generation]
max-examples = {MAX_EXAMPLES}

[phases.stateful]
max-steps = {MAX_STEPS}

[phases.stateful.generation]
max-examples = {SCENARIOS}

# Only the document's own links, so that the run tests them rather than links it guesses.
[phases.stateful.inference]
algorithms = []

# Every request is the owner's; the other business only replays the owner's successful reads.
[auth.wfc]
path = "{auth}"
user = "owner"
peers = {json.dumps(list(IDENTITIES))}
""")
    return config


def answers_by_operation(document: dict[str, Any], har: Path) -> dict[str, Counter[int]]:
    """How often each documented operation answered each status in the recorded run."""
    routes = [
        (method.upper(), re.compile(re.sub(r"\{[^/]+\}", "[^/]+", path) + "$"), f"{method.upper()} {path}")
        for path, operations in document["paths"].items()
        for method in operations
    ]
    answers: dict[str, Counter[int]] = {label: Counter() for _method, _path, label in routes}
    for entry in json.loads(har.read_text())["log"]["entries"]:
        path = httpx.URL(entry["request"]["url"]).path
        for method, pattern, label in routes:
            if entry["request"]["method"] == method and pattern.match(path):
                answers[label][entry["response"]["status"]] += 1
    return answers


def test_every_operation_honours_its_openapi_description(server: tuple[Server, dict[str, str]], tmp_path: Path) -> None:
    running, tokens = server
    har = tmp_path / "run.har"

    result = subprocess.run(
        [
            SCHEMATHESIS,
            "--config-file",
            str(write_config(tmp_path, tokens)),
            "run",
            f"{running.base_url}/openapi.json",
            "--checks",
            "all",
            "--exclude-checks",
            EXCLUDED_CHECKS,
            "--output-truncate",
            "false",
            "--report",
            "har",
            "--report-har-path",
            str(har),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    # Kept beside the HAR in pytest's temporary directory, to read after a run.
    (tmp_path / "schemathesis.txt").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    # The links must lead somewhere: every operation answered with success at least once.
    answers = answers_by_operation(httpx.get(f"{running.base_url}/openapi.json").json(), har)
    assert [
        label for label, statuses in answers.items() if not any(200 <= status < 300 for status in statuses)
    ] == [], answers


LISTS = "^GET /(customers|tags|addresses|delivery_zones|house_account_transactions|loyalty_transactions)$"


def test_every_query_value_the_description_admits_is_accepted_by_each_list(
    server: tuple[Server, dict[str, str]], tmp_path: Path
) -> None:
    """What a client generated from the document may send (a sort key, an include, a boolean or an
    id list, each as the document types it) is a page, never a 400."""
    running, tokens = server

    result = subprocess.run(
        [
            SCHEMATHESIS,
            "--config-file",
            str(write_config(tmp_path, tokens)),
            "run",
            f"{running.base_url}/openapi.json",
            "--include-name-regex",
            LISTS,
            "--mode",
            "positive",
            "--phases",
            "examples,coverage,fuzzing",
            "--checks",
            "positive_data_acceptance",
            "--output-truncate",
            "false",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_every_link_leads_to_a_documented_operation_and_fills_its_parameters(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    operations = {
        operation["operationId"]: operation for methods in document["paths"].values() for operation in methods.values()
    }
    links = {
        (operation["operationId"], status, name): link
        for operation in operations.values()
        for status, answer in operation["responses"].items()
        for name, link in answer.get("links", {}).items()
    }

    needing_an_id = {
        operation_id
        for operation_id, operation in operations.items()
        if any(parameter["in"] == "path" for parameter in operation.get("parameters", []))
    }
    assert needing_an_id <= {link["operationId"] for link in links.values()}
    for link in links.values():
        target = operations[link["operationId"]]
        assert set(link.get("parameters", {})) <= {parameter["name"] for parameter in target.get("parameters", [])}
        if "requestBody" in link:
            properties = target["requestBody"]["content"]["application/json"]["schema"]["properties"]
            assert set(link["requestBody"]) <= set(properties)
    created = {
        name: operations[link["operationId"]]["summary"]
        for (source, status, name), link in links.items()
        if (source, status) == (document["paths"]["/customers"]["post"]["operationId"], "201")
    }
    assert created == {
        "GetCustomer": "Get a customer",
        "UpdateCustomer": "Update a customer",
        "DeleteCustomer": "Delete a customer",
        "RestoreCustomer": "Restore a customer",
        "CreateAddressForCustomer": "Create an address",
        "ListAddressesOfCustomer": "List addresses",
        "CreateHouseAccountTransactionForCustomer": "Create a house account transaction",
        "ListHouseAccountTransactionsOfCustomer": "List house account transactions",
        "CreateLoyaltyTransactionForCustomer": "Create a loyalty transaction",
        "ListLoyaltyTransactionsOfCustomer": "List loyalty transactions",
    }


def link_value(expression: str, query: dict[str, str], body: dict[str, Any]) -> str | None:
    """An OpenAPI runtime expression of a list's link, read from its request and answer."""
    if expression.startswith("$request.query."):
        return query.get(expression.removeprefix("$request.query."))
    assert expression.startswith("$response.body#/"), expression
    value: Any = body
    for key in expression.removeprefix("$response.body#/").split("/"):
        value = value[key]
    return value


def make_records(api: Any, collection: str) -> dict[str, str]:
    """Three records on `collection` that a filter finds, and that filter as a query."""
    if collection == "/customers":
        for name in ("Amal", "Badr", "Dana"):
            api.make_customer(name=f"{name} Link", is_blacklisted=False)
        return {"filter[name]": "Link", "filter[is_blacklisted]": "false"}
    if collection == "/tags":
        for name in ("link-a", "link-b", "link-c"):
            api.make_tag(name=name)
        return {"filter[name]": "link"}
    if collection == "/delivery_zones":
        for name in ("Link North", "Link South", "Link East"):
            api.make_zone(name=name)
        return {"filter[name]": "Link"}
    customer = api.make_customer()
    for name in ("Home", "Work", "Gym"):
        api.make_address(customer["id"], name=name)
    return {"filter[customer_id]": customer["id"]}


@pytest.mark.parametrize("collection", ["/customers", "/tags", "/delivery_zones", "/addresses"])
def test_a_list_next_page_link_fetches_the_next_page_of_the_same_list(
    client: TestClient, api: Any, collection: str
) -> None:
    """The link carries the cursor with the sort, filters, includes and page size it belongs to:
    followed as the document says, it gives what `page=2` of the same list gives."""
    operation = client.get("/openapi.json").json()["paths"][collection]["get"]
    link = operation["responses"]["200"]["links"]["NextPage"]
    # A parameter the link cannot name (`filter[tags.id]`) is named in its description instead.
    left_out = {parameter["name"] for parameter in operation["parameters"]} - set(link["parameters"]) - {"page"}
    assert [name for name in left_out if name not in link["description"]] == []
    query = make_records(api, collection) | {"sort": "-created_at", "per_page": "2"}
    first = api.get(collection, params=query)
    assert first.status_code == 200, first.text

    followed = {
        name: value
        for name, expression in link["parameters"].items()
        if (value := link_value(expression, query, first.json())) is not None
    }
    second = api.get(collection, params=followed)

    assert second.status_code == 200, second.text
    numbered = api.get(collection, params=query | {"page": "2"}).json()
    assert [row["id"] for row in second.json()["data"]] == [row["id"] for row in numbered["data"]]
    assert len(numbered["data"]) == 1


@pytest.mark.parametrize(
    ("collection", "record", "required"),
    [
        ("/customers", "/customers/{customer_id}", ["name", "dial_code", "phone"]),
        ("/tags", "/tags/{tag_id}", ["name"]),
        ("/delivery_zones", "/delivery_zones/{zone_id}", ["name"]),
        ("/addresses", "/addresses/{address_id}", ["name", "customer_id"]),
    ],
)
def test_a_create_documents_the_fields_it_requires_and_the_location_it_answers(
    client: TestClient, api: Any, collection: str, record: str, required: list[str]
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    create, update = paths[collection]["post"], paths[record]["put"]

    schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == required
    assert "required" not in update["requestBody"]["content"]["application/json"]["schema"]
    assert "Location" in create["responses"]["201"]["headers"]
    # What the document says is what a create refuses: each of those fields, missing, is named.
    assert sorted(api.post(collection, json={}).json()["errors"]) == sorted(required)
