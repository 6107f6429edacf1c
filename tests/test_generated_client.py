"""A client generated from /openapi.json does the whole job without hand edits.

`openapi-python-client` generates a Python package from the document a real `clientele serve`
publishes; every test here drives that server through the package alone, as an integrator would:
typed bodies in, typed records and typed errors out.
"""

import importlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.cli.processes import Server, serving
from tests.conftest import new_business, new_token, next_phone

GENERATOR = str(Path(sys.executable).parent / "openapi-python-client")
PACKAGE = "clientele_generated_client"


class Generated:
    """The generated package: its operations by tag and operationId, its models by name."""

    def __init__(self, package: ModuleType, client: Any) -> None:
        self.package = package
        self.client = client
        self.models = importlib.import_module(f"{package.__name__}.models")

    def operation(self, tag: str, name: str) -> Any:
        return importlib.import_module(f"{self.package.__name__}.api.{tag}.{name}")

    def call(self, tag: str, name: str, *args: Any, **kwargs: Any) -> Any:
        """The operation's `sync_detailed`: the status, headers and parsed body of its answer."""
        return self.operation(tag, name).sync_detailed(*args, client=self.client, **kwargs)


@pytest.fixture(scope="module")
def served(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(database_url, tmp_path_factory.mktemp("generated-client-server")) as [running]:
        yield running


@pytest.fixture(scope="module")
def package(served: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The package `openapi-python-client` generates from the served document, imported."""
    directory = tmp_path_factory.mktemp("generated-client")
    document = directory / "openapi.json"
    document.write_bytes(httpx.get(f"{served.base_url}/openapi.json").content)
    # No post hooks: they format the code with ruff, which importing it does not need.
    config = directory / "config.yaml"
    config.write_text("post_hooks: []\n")
    result = subprocess.run(
        [
            GENERATOR,
            "generate",
            "--path",
            str(document),
            "--output-path",
            str(directory / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(config),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(directory))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(directory))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@pytest.fixture
def generated(package: ModuleType, served: Server, client: TestClient) -> Iterator[Generated]:
    """The generated client of a fresh business, with every scope."""
    token = new_token(client, new_business(client, "Generated client")).token
    with package.AuthenticatedClient(base_url=served.base_url, token=token) as authenticated:
        yield Generated(package, authenticated)


def new_customer(generated: Generated, **fields: Any) -> Any:
    body = generated.models.CreateCustomerBody(
        name=fields.pop("name", "Generated Customer"), dial_code=966, phone=next_phone(), **fields
    )
    created = generated.call("customers", "create_customer", body=body)
    assert created.status_code == 201, created.content
    return created.parsed.data


def test_a_create_answers_a_typed_record_that_get_reads_back(generated: Generated) -> None:
    models = generated.models
    tag = generated.call("tags", "create_tag", body=models.CreateTagBody(name="VIP")).parsed.data

    customer = new_customer(
        generated,
        name="Simona",
        gender=models.Gender.FEMALE,
        tags=[models.CreateCustomerBodyTagsItem(id=tag.id)],
    )
    read = generated.call("customers", "get_customer", customer.id, include=[models.CustomerInclude.TAGS]).parsed.data

    assert isinstance(customer.id, uuid.UUID)
    assert read.name == "Simona"
    assert read.gender is models.Gender.FEMALE
    assert [(included.id, included.name) for included in read.tags] == [(tag.id, "VIP")]
    assert read.deleted_at is None


def test_a_list_takes_typed_filters_sorts_and_includes(generated: Generated) -> None:
    models = generated.models
    zone = generated.call("delivery_zones", "create_delivery_zone", body=models.CreateDeliveryZoneBody(name="North"))
    wanted = new_customer(generated, name="Badr Filtered", is_blacklisted=True)
    new_customer(generated, name="Dana Filtered", is_blacklisted=False)
    generated.call(
        "addresses",
        "create_address",
        body=models.CreateAddressBody(name="Home", customer_id=wanted.id, delivery_zone_id=zone.parsed.data.id),
    )

    page = generated.call(
        "customers",
        "list_customers",
        filtername="filtered",
        filteris_blacklisted=True,
        sort=[models.CustomerSort.CREATED_AT_DESC],
        include=[models.CustomerInclude.ADDRESSES_DELIVERY_ZONE],
    ).parsed
    addresses = generated.call(
        "addresses", "list_addresses", filtercustomer_id=[wanted.id], include=[models.AddressInclude.CUSTOMER]
    ).parsed

    assert [customer.name for customer in page.data] == ["Badr Filtered"]
    assert page.meta.total == 1
    [address] = page.data[0].addresses
    assert isinstance(address.delivery_zone, models.DeliveryZoneOut)
    assert address.delivery_zone.name == "North"
    assert isinstance(address.customer, models.RecordStub)
    assert address.customer.id == wanted.id
    [listed] = addresses.data
    assert isinstance(listed.customer, models.CustomerOut)
    assert listed.customer.name == "Badr Filtered"


def test_a_cursor_sync_walks_every_row_once_to_the_end(generated: Generated) -> None:
    models = generated.models
    made = [new_customer(generated, name=f"Synced {index}").id for index in range(5)]
    query = {"filtername": "Synced", "sort": [models.CustomerSort.UPDATED_AT], "per_page": 2}

    walked: list[uuid.UUID] = []
    page = generated.call("customers", "list_customers", **query).parsed
    walked += [customer.id for customer in page.data]
    while page.meta.next_cursor is not None:
        page = generated.call("customers", "list_customers", cursor=page.meta.next_cursor, **query).parsed
        assert page.meta.total is None
        walked += [customer.id for customer in page.data]

    assert walked == made


def test_an_update_with_if_match_changes_only_the_version_it_names(generated: Generated) -> None:
    models = generated.models
    customer = new_customer(generated)
    etag = generated.call("customers", "get_customer", customer.id).headers["ETag"]

    updated = generated.call(
        "customers",
        "update_customer",
        customer.id,
        body=models.UpdateCustomerBody(email="one@example.net"),
        if_match=etag,
    )
    stale = generated.call(
        "customers",
        "update_customer",
        customer.id,
        body=models.UpdateCustomerBody(email="two@example.net"),
        if_match=etag,
    )

    assert updated.status_code == 200
    assert updated.parsed.data.email == "one@example.net"
    assert stale.status_code == 412
    assert isinstance(stale.parsed, models.ErrorBody)
    assert "If-Match" in stale.parsed.message
    assert generated.call("customers", "get_customer", customer.id).parsed.data.email == "one@example.net"


def test_a_create_retried_with_its_idempotency_key_answers_the_first_record(generated: Generated) -> None:
    models = generated.models
    body = models.CreateCustomerBody(name="Retried", dial_code=966, phone=next_phone())

    first = generated.call("customers", "create_customer", body=body, idempotency_key="till-7-order-12")
    retry = generated.call("customers", "create_customer", body=body, idempotency_key="till-7-order-12")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.parsed.data.id == first.parsed.data.id
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert generated.call("customers", "list_customers", filtername="Retried").parsed.meta.total == 1


def test_a_delete_and_a_restore_show_in_deleted_at(generated: Generated) -> None:
    customer = new_customer(generated)

    deleted = generated.call("customers", "delete_customer", customer.id)
    after_delete = generated.call("customers", "get_customer", customer.id).parsed.data
    restored = generated.call("customers", "restore_customer", customer.id)

    assert deleted.status_code == 204
    assert after_delete.deleted_at is not None
    assert restored.status_code == 200
    assert restored.parsed.data.deleted_at is None


def test_errors_are_typed_with_their_message_and_fields(
    generated: Generated, served: Server, client: TestClient
) -> None:
    models = generated.models
    lister = new_token(client, new_business(client, "Lister"), scopes=["customers.list"]).token
    missing_phone = generated.call(
        "customers", "create_customer", body=models.CreateCustomerBody(name="No phone", dial_code=966, phone="")
    )
    not_found = generated.call("customers", "get_customer", uuid.uuid4())
    deleted = new_customer(generated)
    generated.call("customers", "delete_customer", deleted.id)
    conflict = generated.call("customers", "update_customer", deleted.id, body=models.UpdateCustomerBody(name="Late"))
    page_beside_cursor = generated.call("customers", "list_customers", page=2, cursor="anything")
    get_customer = generated.operation("customers", "get_customer")
    with generated.package.AuthenticatedClient(base_url=served.base_url, token=lister) as limited:
        forbidden = get_customer.sync_detailed(deleted.id, client=limited)
    with generated.package.AuthenticatedClient(base_url=served.base_url, token="clt_not-a-token") as stranger:
        unauthenticated = get_customer.sync_detailed(deleted.id, client=stranger)

    answers = [missing_phone, not_found, conflict, page_beside_cursor, forbidden, unauthenticated]
    assert [answer.status_code for answer in answers] == [422, 404, 409, 400, 403, 401]
    assert all(isinstance(answer.parsed, models.ErrorBody) for answer in answers)
    assert list(missing_phone.parsed.errors.additional_properties) == ["phone"]
    assert "cursor" in page_beside_cursor.parsed.errors.additional_properties
    assert "customers.get" in forbidden.parsed.message
    assert unauthenticated.parsed.message == "Unauthenticated."
