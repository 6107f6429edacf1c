"""`clientele import` and `clientele export` (issue 3 §4): customers in and out of a business in bulk."""

import csv
import io
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Table, select

from clientele.app import create_app
from clientele.bulk import files as bulk
from clientele.cli import ROWS_REJECTED
from clientele.config import Settings
from clientele.customers.models import customers
from clientele.ledgers.models import house_account_transactions, loyalty_transactions
from tests.cli.conftest import (
    Clientele,
    every_customer,
    run_clientele_on,
    statistics_once_inserted,
    table_statistics,
)
from tests.cli.processes import run_clientele
from tests.conftest import Api, next_phone, on_database, run_statement
from tests.ledgers.conftest import HOUSE, LOYALTY

IMPORTED_FIELDS = (
    "name",
    "dial_code",
    "phone",
    "email",
    "gender",
    "birth_date",
    "house_account_limit",
    "is_loyalty_enabled",
    "is_blacklisted",
    "is_house_account_enabled",
    "order_count",
    "last_order_at",
)
CSV_HEADER = ",".join(IMPORTED_FIELDS)


def csv_file(path: Path, *lines: str, header: str = CSV_HEADER) -> Path:
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def jsonl_file(path: Path, *rows: Any) -> Path:
    path.write_bytes(b"".join((row if isinstance(row, bytes) else orjson.dumps(row)) + b"\n" for row in rows))
    return path


def rejects_of(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def imported(api: Api, phone: str) -> dict[str, Any]:
    [customer] = [found for found in every_customer(api) if found["phone"] == phone]
    return customer


def importable(customer: dict[str, Any]) -> dict[str, Any]:
    return {name: customer[name] for name in IMPORTED_FIELDS}


@pytest.fixture
def import_file(clientele: Clientele, api: Api) -> Callable[..., str]:
    """`import_file(path, *options)`: import into the test business; the command's summary line. The
    command's exit status is the one its summary calls for: 0, or ROWS_REJECTED when it rejected rows."""

    def run(path: Path, *options: Any) -> str:
        result = clientele("import", path, "--business", api.business_id, *options)
        rejected = re.search(r"(\d+) rejected\.", result.stdout)
        assert rejected is not None, result.output + result.stderr
        assert result.exit_code == (ROWS_REJECTED if int(rejected.group(1)) else 0), result.output + result.stderr
        return result.stdout

    return run


# --- import ---------------------------------------------------------------------------------


def test_import_creates_the_customers_of_a_csv_file(import_file: Callable[..., str], api: Api, tmp_path: Path) -> None:
    full, bare = next_phone(), next_phone()
    path = csv_file(
        tmp_path / "customers.csv",
        f' Layla Hassan ,966,"0{full[:2]} {full[2:5]} {full[5:]}",Layla@Example.COM,2,1990-05-01,500,'
        "TRUE,false,1,7,2025-01-02 03:04:05",
        f"Omar,966,{bare},,,,,,,,,",
    )

    summary = import_file(path)

    assert "2 created" in summary
    assert importable(imported(api, full)) == {
        "name": "Layla Hassan",
        "dial_code": 966,
        "phone": full,
        "email": "Layla@example.com",
        "gender": 2,
        "birth_date": "1990-05-01",
        "house_account_limit": 500,
        "is_loyalty_enabled": True,
        "is_blacklisted": False,
        "is_house_account_enabled": True,
        "order_count": 7,
        "last_order_at": "2025-01-02 03:04:05",
    }
    assert importable(imported(api, bare)) == {
        "name": "Omar",
        "dial_code": 966,
        "phone": bare,
        "email": None,
        "gender": None,
        "birth_date": None,
        "house_account_limit": None,
        "is_loyalty_enabled": False,
        "is_blacklisted": False,
        "is_house_account_enabled": False,
        "order_count": 0,
        "last_order_at": None,
    }


def test_import_matches_csv_headers_whatever_their_case_and_spaces_and_reads_notes(
    import_file: Callable[..., str], api: Api, tmp_path: Path
) -> None:
    phone = next_phone()
    path = csv_file(
        tmp_path / "customers.csv",
        f'Layla,966,{phone},"Allergic to nuts,\ncall ahead.",true',
        header="NAME, Dial Code ,Phone,Notes,Is Blacklisted",
    )

    summary = import_file(path)

    customer = imported(api, phone)
    assert "1 created" in summary
    assert (customer["name"], customer["notes"], customer["is_blacklisted"]) == (
        "Layla",
        "Allergic to nuts,\ncall ahead.",
        True,
    )


def test_a_csv_export_imports_again_with_its_notes(
    clientele: Clientele, import_file: Callable[..., str], api: Api, other_api: Api, tmp_path: Path
) -> None:
    made = api.make_customer(notes="Regular, Thursdays.\nPays by card.")
    path = tmp_path / "export.csv"
    assert clientele("export", "--business", api.business_id, "--output", path).exit_code == 0

    result = clientele("import", path, "--business", other_api.business_id)

    assert result.exit_code == 0, result.output + result.stderr
    assert imported(other_api, made["phone"])["notes"] == "Regular, Thursdays.\nPays by card."


def test_import_reads_json_lines_as_api_bodies(import_file: Callable[..., str], api: Api, tmp_path: Path) -> None:
    phone = next_phone()
    path = jsonl_file(
        tmp_path / "customers.jsonl",
        {
            "name": "نورة القحطاني",
            "dial_code": 966,
            "phone": phone,
            "is_blacklisted": 1,
            "is_loyalty_enabled": True,
            "order_count": 3,
            "last_order_at": "2024-12-31 23:59:59",
            # Read-only and unknown fields are ignored, as in an API body.
            "id": "not-an-id",
            "house_account_balance": 99,
            "created_at": "2001-01-01 00:00:00",
            "tags": [{"id": "x"}],
            "favourite_dish": "kabsa",
        },
    )

    summary = import_file(path)

    customer = imported(api, phone)
    assert "1 created" in summary
    assert (customer["name"], customer["is_blacklisted"], customer["is_loyalty_enabled"]) == (
        "نورة القحطاني",
        True,
        True,
    )
    assert (customer["order_count"], customer["last_order_at"]) == (3, "2024-12-31 23:59:59")
    assert customer["id"] != "not-an-id"
    assert (customer["house_account_balance"], customer["created_at"][:4]) != (99, "2001")


def test_bad_rows_are_rejected_by_line_number_and_the_good_rows_are_stored(
    import_file: Callable[..., str], api: Api, tmp_path: Path
) -> None:
    first, last = next_phone(), next_phone()
    path = csv_file(
        tmp_path / "customers.csv",
        f"Good one,966,{first},,,,,,,,,",
        "Bad phone,966,12ab,,,,,,,,,",
        f"Bad fields,966,{next_phone()},not-an-email,3,,,,maybe,,,",
        "",
        f"Good two,966,{last},,,,,,,,,",
    )

    summary = import_file(path)

    assert "2 created" in summary and "2 rejected" in summary
    assert sorted(customer["name"] for customer in every_customer(api)) == ["Good one", "Good two"]
    rejects = rejects_of(tmp_path / "customers.csv.rejects.jsonl")
    assert [(reject["line"], sorted(reject["errors"])) for reject in rejects] == [
        (3, ["phone"]),
        (4, ["email", "gender", "is_blacklisted"]),
    ]
    assert rejects[0]["errors"]["phone"] == ["The phone field must contain digits only."]
    assert rejects[1]["row"]["name"] == "Bad fields"


def test_import_exits_non_zero_when_it_rejected_a_row_and_still_prints_its_summary(
    database_url: str, api: Api, tmp_path: Path
) -> None:
    phone = next_phone()
    path = csv_file(tmp_path / "customers.csv", f"Good,966,{phone},,,,,,,,,", "Bad phone,966,12ab,,,,,,,,,")

    result = run_clientele(database_url, "import", str(path), "--business", str(api.business_id))

    assert result.returncode == ROWS_REJECTED
    assert "2 rows" in result.stdout and "1 created" in result.stdout and "1 rejected" in result.stdout
    assert "Traceback" not in result.stderr
    assert [customer["phone"] for customer in every_customer(api)] == [phone]


@pytest.mark.parametrize(
    "body",
    [
        {"dial_code": 966, "phone": "565445254"},
        {"name": "   ", "dial_code": 966, "phone": "565445254"},
        {"name": "x" * 256, "dial_code": 966, "phone": "565445254"},
        {"name": "No dial code", "phone": "565445254"},
        {"name": "Unassigned", "dial_code": 999, "phone": "565445254"},
        {"name": "Dial code text", "dial_code": "Saudi", "phone": "565445254"},
        {"name": "Letters", "dial_code": 966, "phone": "56544abcd"},
        {"name": "Too short", "dial_code": 966, "phone": "5654"},
        {"name": "Email", "dial_code": 966, "phone": "565445254", "email": "nobody@"},
        {"name": "Gender", "dial_code": 966, "phone": "565445254", "gender": 3},
        {"name": "Future", "dial_code": 966, "phone": "565445254", "birth_date": "2999-01-01"},
        {"name": "Ancient", "dial_code": 966, "phone": "565445254", "birth_date": "1899-12-31"},
        {"name": "Not a date", "dial_code": 966, "phone": "565445254", "birth_date": "1990-02-30"},
        {"name": "Limit", "dial_code": 966, "phone": "565445254", "house_account_limit": -1},
        {"name": "Flag text", "dial_code": 966, "phone": "565445254", "is_blacklisted": "yes"},
        {"name": "Flag null", "dial_code": 966, "phone": "565445254", "is_loyalty_enabled": None},
        {"name": None, "dial_code": 0, "phone": "", "email": "@", "gender": "x", "is_house_account_enabled": 2},
    ],
    ids=lambda body: ",".join(body)[:40],
)
def test_import_refuses_a_row_with_the_errors_the_api_gives(
    body: dict[str, Any], clientele: Clientele, api: Api, tmp_path: Path
) -> None:
    through_api = api.post("/customers", json=body)
    result = clientele(
        "import",
        jsonl_file(tmp_path / "one.jsonl", body),
        "--business",
        api.business_id,
        "--rejects",
        tmp_path / "rejects.jsonl",
    )

    assert through_api.status_code == 422
    assert result.exit_code == ROWS_REJECTED, result.output
    [reject] = rejects_of(tmp_path / "rejects.jsonl")
    assert reject["errors"] == through_api.json()["errors"]
    assert every_customer(api) == []


def test_an_imported_customer_is_stamped_when_its_batch_is_stored_not_when_it_was_checked(
    import_file: Callable[..., str], api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync that starts a few seconds before the last `updated_at` it stored must find every row
    stored since: rows checked long before their batch commits must not carry the time of the check."""
    an_hour_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    monkeypatch.setattr(bulk, "utcnow", lambda: an_hour_ago, raising=False)  # the clock of the checks
    path = csv_file(tmp_path / "customers.csv", f"Fine,966,{next_phone()},,,,,,,,,")

    import_file(path, "--jobs", "1")

    [customer] = every_customer(api)
    stamped = {datetime.fromisoformat(customer[name]) for name in ("created_at", "updated_at")}
    assert len(stamped) == 1
    assert datetime.now(UTC).replace(tzinfo=None) - stamped.pop() < timedelta(minutes=1)


def test_order_history_is_set_by_import_and_by_no_api_call(
    import_file: Callable[..., str], api: Api, tmp_path: Path
) -> None:
    history = {"order_count": 9, "last_order_at": "2025-03-04 05:06:07"}
    created = api.make_customer(**history)
    updated = api.put(f"/customers/{created['id']}", json=history).json()["data"]
    phone = next_phone()
    import_file(
        jsonl_file(tmp_path / "history.jsonl", {"name": "Imported", "dial_code": 966, "phone": phone} | history)
    )

    assert (created["order_count"], created["last_order_at"]) == (0, None)
    assert (updated["order_count"], updated["last_order_at"]) == (0, None)
    assert {name: imported(api, phone)[name] for name in history} == history


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("order_count", -1),
        ("order_count", "many"),
        ("order_count", 2**31),
        ("last_order_at", "2025-13-01 00:00:00"),
        ("last_order_at", "2025-01-01"),
        ("last_order_at", 1735689600),
    ],
)
def test_import_refuses_a_bad_order_count_or_last_order_at(
    field: str, value: Any, clientele: Clientele, api: Api, tmp_path: Path
) -> None:
    row = {"name": "History", "dial_code": 966, "phone": next_phone(), field: value}
    clientele("import", jsonl_file(tmp_path / "one.jsonl", row), "--business", api.business_id)

    [reject] = rejects_of(tmp_path / "one.jsonl.rejects.jsonl")
    assert list(reject["errors"]) == [field]
    assert every_customer(api) == []


def test_running_the_same_file_again_creates_no_duplicates(
    import_file: Callable[..., str], api: Api, tmp_path: Path
) -> None:
    path = csv_file(tmp_path / "customers.csv", *(f"Customer {n},966,{next_phone()},,,,,,,,," for n in range(5)))

    first, second = import_file(path), import_file(path)

    assert "5 created" in first
    assert "0 created, 5 skipped" in second
    assert len(every_customer(api)) == 5


def test_a_row_whose_phone_an_active_customer_has_leaves_that_customer_alone(
    import_file: Callable[..., str], api: Api, tmp_path: Path
) -> None:
    kept = api.make_customer(name="Kept", email="kept@example.com")
    path = csv_file(tmp_path / "customers.csv", f"Replacement,966,0{kept['phone']},new@example.com,,,,,true,,4,")

    summary = import_file(path)

    assert "0 created, 1 skipped" in summary
    assert every_customer(api) == [kept]


def test_the_phone_of_a_deleted_customer_is_free_for_import(
    import_file: Callable[..., str], api: Api, tmp_path: Path
) -> None:
    deleted = api.make_customer(name="Deleted")
    api.delete(f"/customers/{deleted['id']}")

    import_file(csv_file(tmp_path / "customers.csv", f"New,966,{deleted['phone']},,,,,,,,,"))

    assert [customer["name"] for customer in every_customer(api)] == ["New"]
    assert api.get(f"/customers/{deleted['id']}").json()["data"]["deleted_at"] is not None


@pytest.mark.parametrize("batch_size", [50_000, 1])
def test_within_one_file_the_first_row_with_a_phone_wins(
    batch_size: int, import_file: Callable[..., str], api: Api, tmp_path: Path
) -> None:
    phone = next_phone()
    path = csv_file(
        tmp_path / "customers.csv",
        f"First,966,{phone},,,,,,,,,",
        f"Other,966,{next_phone()},,,,,,,,,",
        f"Second,966,0{phone},,,,,,,,,",
    )

    summary = import_file(path, "--batch-size", batch_size)

    assert "2 created" in summary and "1 rejected" in summary
    assert imported(api, phone)["name"] == "First"
    [reject] = rejects_of(tmp_path / "customers.csv.rejects.jsonl")
    assert (reject["line"], reject["errors"]) == (
        4,
        {"phone": ["The phone has already been taken by line 2 of this file."]},
    )
    # The row as it was read, as for every other reject: what the user fixes is in the file.
    assert reject["row"] == dict(zip(IMPORTED_FIELDS, ["Second", "966", f"0{phone}", *[""] * 9], strict=True))


def test_a_json_lines_duplicate_is_rejected_with_its_row_as_read(
    import_file: Callable[..., str], api: Api, tmp_path: Path
) -> None:
    phone = next_phone()
    second = {
        "name": " Second ",
        "dial_code": "966",
        "phone": f"0{phone}",
        "email": "Second@Example.com",
        "order_count": 3,
    }
    path = jsonl_file(tmp_path / "customers.jsonl", {"name": "First", "dial_code": 966, "phone": phone}, second)

    summary = import_file(path, "--batch-size", 1)

    assert "1 created" in summary and "1 rejected" in summary
    [reject] = rejects_of(tmp_path / "customers.jsonl.rejects.jsonl")
    assert (reject["line"], reject["row"]) == (2, second)


def test_after_an_import_an_address_finds_its_customer_by_key_though_the_statistics_never_saw_the_business(
    unseen_business: tuple[str, str], tmp_path: Path
) -> None:
    """An import leaves the statistics knowing its business, so an address written through the API afterwards
    has its customer looked up by the table's key. Before, each such write read every customer of the business
    until the table was next analysed, which with autovacuum off is never."""
    url, business = unseen_business
    imported_rows, addresses = 1000, 50
    path = csv_file(
        tmp_path / "customers.csv", *(f"Imported {n},966,{next_phone()},,,,,,,,," for n in range(imported_rows))
    )
    run_clientele_on(url, "import", path, "--business", business)
    token = run_clientele_on(url, "token", "create", "--business", business, "--scopes", "all").split()[-1]

    customer_ids = on_database(
        url,
        lambda connection: [
            str(customer_id)
            for customer_id in connection.scalars(
                select(customers.c.id).where(customers.c.business_id == uuid.UUID(business)).limit(addresses)
            )
        ],
    )
    before = table_statistics(url, "customers")
    inserted_addresses = table_statistics(url, "addresses")["inserted"]
    with TestClient(create_app(Settings(database_url=url, redis_url=None, rate_limit=0))) as client:
        api = Api(client, token, uuid.UUID(business))
        for customer_id in customer_ids:
            api.make_address(customer_id)

    statistics_once_inserted(url, "addresses", inserted_addresses + addresses)
    after = table_statistics(url, "customers")
    # The rows that found the customers above are counted too: at most one each.
    assert after["read"] - before["read"] <= 20 * addresses, (before, after)


def test_a_line_that_is_not_a_json_object_is_rejected(
    import_file: Callable[..., str], api: Api, tmp_path: Path
) -> None:
    phone = next_phone()
    path = jsonl_file(
        tmp_path / "customers.jsonl",
        b'{"name": "cut off',
        b"[1, 2]",
        {"name": "Fine", "dial_code": 966, "phone": phone},
    )

    summary = import_file(path)

    assert "1 created" in summary
    assert [
        (reject["line"], list(reject["errors"])) for reject in rejects_of(tmp_path / "customers.jsonl.rejects.jsonl")
    ] == [(1, ["row"]), (2, ["row"])]


def test_a_csv_line_with_the_wrong_number_of_values_is_rejected(
    import_file: Callable[..., str], api: Api, tmp_path: Path
) -> None:
    path = csv_file(
        tmp_path / "customers.csv",
        f"Short,966,{next_phone()}",
        f"Long,966,{next_phone()},,,,,,,,,,extra",
        header="name,dial_code,phone",
    )

    summary = import_file(path)

    assert "1 created" in summary
    [reject] = rejects_of(tmp_path / "customers.csv.rejects.jsonl")
    assert (reject["line"], list(reject["errors"])) == (3, ["row"])


def test_a_stale_reject_file_is_removed_when_a_run_rejects_nothing(
    import_file: Callable[..., str], tmp_path: Path
) -> None:
    stale = tmp_path / "customers.csv.rejects.jsonl"
    stale.write_text('{"line": 2}\n')

    import_file(csv_file(tmp_path / "customers.csv", f"Fine,966,{next_phone()},,,,,,,,,"))

    assert not stale.exists()


def test_a_line_that_is_not_utf8_is_rejected_on_its_own_whatever_else_is_wrong_with_it(
    import_file: Callable[..., str], api: Api, tmp_path: Path
) -> None:
    before, after = next_phone(), next_phone()
    path = tmp_path / "customers.csv"
    path.write_bytes(
        b"name,dial_code,phone\n"
        + f"Before,966,{before}\n".encode()
        + f"Caf\xe9,966,{next_phone()},extra\n".encode("latin-1")
        + f"After,966,{after}\n".encode()
    )

    summary = import_file(path, "--batch-size", "1")

    assert "2 created" in summary and "1 rejected" in summary
    assert sorted(customer["name"] for customer in every_customer(api)) == ["After", "Before"]
    [reject] = rejects_of(tmp_path / "customers.csv.rejects.jsonl")
    assert (reject["line"], reject["errors"]) == (3, {"row": ["The line is not valid UTF-8."]})


def test_a_quoted_value_over_many_lines_is_one_rejected_row_and_the_next_row_is_read(
    import_file: Callable[..., str], api: Api, tmp_path: Path
) -> None:
    long_name = "\n".join(["x" * 1000] * 200)  # over the CSV reader's default cell limit of 128 KiB
    path = tmp_path / "customers.csv"
    path.write_text(f'name,dial_code,phone\n"{long_name}",966,{next_phone()}\nAfter,966,{next_phone()}\n')

    summary = import_file(path)

    assert "1 created" in summary and "1 rejected" in summary
    assert [customer["name"] for customer in every_customer(api)] == ["After"]
    [reject] = rejects_of(tmp_path / "customers.csv.rejects.jsonl")
    assert (reject["line"], list(reject["errors"])) == (2, ["name"])


def test_a_json_lines_file_may_start_with_a_bom(import_file: Callable[..., str], api: Api, tmp_path: Path) -> None:
    path = tmp_path / "customers.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + orjson.dumps({"name": "First", "dial_code": 966, "phone": next_phone()}) + b"\n")

    assert "1 created, 0 skipped (an active customer has the phone), 0 rejected" in import_file(path)


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_a_row_deleted_in_the_file_is_skipped_so_the_active_customer_with_its_phone_is_imported(
    file_format: str, clientele: Clientele, api: Api, other_api: Api, tmp_path: Path
) -> None:
    phone = next_phone()
    old = api.make_customer(name="Old", phone=phone)
    assert api.delete(f"/customers/{old['id']}").status_code == 204
    api.make_customer(name="New", phone=phone)
    output = tmp_path / f"export.{file_format}"
    assert clientele("export", "--business", api.business_id, "--include-deleted", "--output", output).exit_code == 0

    result = clientele("import", output, "--business", other_api.business_id)

    assert result.exit_code == 0, result.output
    assert (
        "1 created, 0 skipped (an active customer has the phone), 1 skipped (deleted in the file), 0 rejected"
        in result.stdout
    )
    assert [customer["name"] for customer in every_customer(other_api)] == ["New"]
    assert every_customer(other_api, **{"filter[is_deleted]": "true"}) == []


def test_import_refuses_the_file_itself_as_its_rejects_file_and_keeps_it(
    clientele: Clientele, api: Api, tmp_path: Path
) -> None:
    path = csv_file(tmp_path / "customers.csv", f"Fine,966,{next_phone()},,,,,,,,,")
    content = path.read_bytes()

    result = clientele("import", path, "--business", api.business_id, "--rejects", path)

    assert result.exit_code != 0 and "rejects" in result.stderr
    assert path.read_bytes() == content
    assert every_customer(api) == []


def test_a_rejects_file_that_cannot_be_written_stops_the_import_before_it_writes_anything(
    clientele: Clientele, api: Api, tmp_path: Path
) -> None:
    path = csv_file(
        tmp_path / "customers.csv",
        f"Good,966,{next_phone()},,,,,,,,,",
        "Bad,966,123,,,,,,,,,",
        f"Good too,966,{next_phone()},,,,,,,,,",
    )

    result = clientele(
        "import",
        path,
        "--business",
        api.business_id,
        "--batch-size",
        "1",
        "--rejects",
        tmp_path / "missing" / "rejects.jsonl",
    )

    assert result.exit_code == 1 and "rejects" in result.stderr
    assert isinstance(result.exception, SystemExit)
    assert every_customer(api) == []


def test_a_run_that_fails_as_a_whole_leaves_the_last_rejects_file_alone(clientele: Clientele, tmp_path: Path) -> None:
    path = csv_file(tmp_path / "customers.csv", f"Fine,966,{next_phone()},,,,,,,,,")
    last = tmp_path / "customers.csv.rejects.jsonl"
    last.write_text('{"line": 2}\n')

    result = clientele("import", path, "--business", "00000000-0000-7000-8000-000000000000")

    assert result.exit_code == 1 and "No business" in result.stderr
    assert last.read_text() == '{"line": 2}\n'
    assert sorted(child.name for child in tmp_path.iterdir()) == ["customers.csv", "customers.csv.rejects.jsonl"]


def test_import_refuses_a_header_that_is_not_utf8(clientele: Clientele, api: Api, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes(b"name,dial_code,phone,caf\xe9\n" + f"Fine,966,{next_phone()},x\n".encode() + b"Bad,966,123,x\n")

    result = clientele("import", path, "--business", api.business_id)

    assert result.exit_code == 1 and "UTF-8" in result.stderr
    assert every_customer(api) == []


@pytest.mark.parametrize(
    ("lines", "options", "message"),
    [
        (["Fine,966,565445254"], ("--business", "{business}"), "header"),
        ([f"{CSV_HEADER}"], ("--business", "00000000-0000-7000-8000-000000000000"), "No business"),
        ([f"{CSV_HEADER}"], ("--business", "not-an-id"), "Not a business id"),
    ],
    ids=["no header", "unknown business", "malformed business"],
)
def test_import_refuses_input_it_cannot_use_and_writes_nothing(
    lines: list[str], options: tuple[str, ...], message: str, clientele: Clientele, api: Api, tmp_path: Path
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("\n".join(lines) + "\n")

    result = clientele("import", path, *(option.format(business=api.business_id) for option in options))

    assert result.exit_code != 0
    assert message in result.stderr
    assert every_customer(api) == []


def test_import_needs_a_format_it_can_tell(clientele: Clientele, api: Api, tmp_path: Path) -> None:
    path = jsonl_file(tmp_path / "customers.txt", {"name": "Fine", "dial_code": 966, "phone": next_phone()})

    refused = clientele("import", path, "--business", api.business_id)
    accepted = clientele("import", path, "--business", api.business_id, "--format", "jsonl")

    assert refused.exit_code == 2 and "--format" in refused.stderr
    assert accepted.exit_code == 0 and "1 created" in accepted.stdout


def test_import_in_small_batches_with_worker_processes_gives_the_same_result(
    database_url: str, api: Api, tmp_path: Path
) -> None:
    phones = [next_phone() for _ in range(7)]
    path = csv_file(
        tmp_path / "customers.csv",
        *(f"Customer {n},966,{phone},,,,,,,,3," for n, phone in enumerate(phones)),
        "Bad,966,1,,,,,,,,,",
        f"Again,966,{phones[0]},,,,,,,,,",
    )

    result = run_clientele(
        database_url, "import", str(path), "--business", str(api.business_id), "--batch-size", "2", "--jobs", "2"
    )

    assert result.returncode == ROWS_REJECTED, result.stderr
    assert "7 created, 0 skipped (an active customer has the phone), 2 rejected" in result.stdout
    assert sorted(customer["phone"] for customer in every_customer(api)) == sorted(phones)
    assert [reject["line"] for reject in rejects_of(tmp_path / "customers.csv.rejects.jsonl")] == [9, 10]
    # Not a terminal: no progress bar, only the pointer to the rejects.
    assert result.stderr.strip().splitlines() == [
        f"Rejected rows, with their line numbers and errors: {tmp_path / 'customers.csv.rejects.jsonl'}"
    ]


# --- opening balances (SPEC §9) ------------------------------------------------------------


def ledger_entries(client: TestClient, ledger: Table, customer_id: str) -> list[dict[str, Any]]:
    """A customer's entries in a ledger, oldest first, as stored."""
    c = ledger.c
    return run_statement(
        client, select(ledger).where(c.customer_id == uuid.UUID(customer_id)).order_by(c.created_at, c.id)
    )


def by_phone(api: Api) -> dict[str, dict[str, Any]]:
    return {customer["phone"]: customer for customer in every_customer(api)}


def test_import_opens_each_non_zero_balance_with_an_entry_in_its_ledger(
    import_file: Callable[..., str],
    api: Api,
    client: TestClient,
    stored_row: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    owes, collects, neither = next_phone(), next_phone(), next_phone()
    path = csv_file(
        tmp_path / "balances.csv",
        f"Owes,966,{owes},-1250.5,",
        f"Collects,966,{collects},0,42.125",
        f"Neither,966,{neither},,0",
        header="name,dial_code,phone, House Account Balance ,LOYALTY_BALANCE",
    )

    summary = import_file(path)

    assert "3 created" in summary
    assert "Recorded 2 imported balances as opening ledger entries." in summary
    found = by_phone(api)
    assert [
        (found[phone]["house_account_balance"], found[phone]["loyalty_balance"]) for phone in (owes, collects, neither)
    ] == [(-1250.5, 0), (0, 42.125), (0, 0)]
    debtor = stored_row(customers, found[owes]["id"])
    [debt] = ledger_entries(client, house_account_transactions, found[owes]["id"])
    assert debt["amount"] == debt["balance_after"] == debtor["house_account_balance"] == Decimal("-1250.5")
    assert debt["meta"] == {"source": "import"}
    assert (debt["order_id"], debt["user_id"], debt["payment_method_id"]) == (None, None, None)
    assert debt["created_at"] == debt["updated_at"] == debtor["created_at"]
    [points] = ledger_entries(client, loyalty_transactions, found[collects]["id"])
    assert points["amount"] == points["balance_after"] == Decimal("42.125")
    assert points["meta"] == {"source": "import"}
    assert ledger_entries(client, loyalty_transactions, found[owes]["id"]) == []
    assert ledger_entries(client, house_account_transactions, found[collects]["id"]) == []
    assert ledger_entries(client, house_account_transactions, found[neither]["id"]) == []
    assert ledger_entries(client, loyalty_transactions, found[neither]["id"]) == []
    # Each customer's ledger list totals its entries (the count kept on the customer), a payment after too.
    assert api.post(HOUSE, json={"customer_id": found[owes]["id"], "amount": 50}).status_code == 201
    for phone in (owes, collects, neither):
        for path, ledger in ((HOUSE, house_account_transactions), (LOYALTY, loyalty_transactions)):
            listed = api.get(path, params={"filter[customer_id]": found[phone]["id"]}).json()["meta"]["total"]
            assert listed == len(ledger_entries(client, ledger, found[phone]["id"])), (phone, path)


def test_an_imported_house_balance_is_taken_whatever_the_limit_and_the_enabled_flag(
    import_file: Callable[..., str], api: Api, client: TestClient, tmp_path: Path
) -> None:
    phone = next_phone()
    path = jsonl_file(
        tmp_path / "balances.jsonl",
        {
            "name": "Over the limit",
            "dial_code": 966,
            "phone": phone,
            "house_account_limit": 100,
            "is_house_account_enabled": False,
            "house_account_balance": -5000.75,
            "loyalty_balance": "12",
        },
    )

    assert "1 created" in import_file(path)

    customer = by_phone(api)[phone]
    assert (customer["house_account_balance"], customer["house_account_limit"]) == (-5000.75, 100)
    assert customer["loyalty_balance"] == 12
    [debt] = ledger_entries(client, house_account_transactions, customer["id"])
    assert debt["amount"] == debt["balance_after"] == Decimal("-5000.75")


def test_import_rejects_a_balance_it_cannot_hold_exactly_naming_the_field(
    import_file: Callable[..., str], api: Api, client: TestClient, tmp_path: Path
) -> None:
    good = next_phone()
    path = csv_file(
        tmp_path / "balances.csv",
        f"Too precise,966,{next_phone()},1.2345,",
        f"Too large,966,{next_phone()},-1000000000,",
        f"Negative points,966,{next_phone()},,-0.001",
        f"Not a number,966,{next_phone()},12 SAR,NaN",
        # Read as the ledgers read an amount: no digit groups, no other scripts' digits.
        f"Grouped,966,{next_phone()},1_000,١٢",
        f"Largest,966,{good},-999999999.999,1.5000",
        header="name,dial_code,phone,house_account_balance,loyalty_balance",
    )

    summary = import_file(path)

    assert "1 created" in summary and "5 rejected." in summary
    assert [(reject["line"], reject["errors"]) for reject in rejects_of(Path(f"{path}.rejects.jsonl"))] == [
        (2, {"house_account_balance": ["The house_account_balance field must have at most 3 decimal places."]}),
        (
            3,
            {
                "house_account_balance": [
                    "The house_account_balance field must be greater than -1000000000 and less than 1000000000."
                ]
            },
        ),
        (4, {"loyalty_balance": ["The loyalty_balance field must be at least 0."]}),
        (
            5,
            {
                "house_account_balance": ["The house_account_balance field must be a number."],
                "loyalty_balance": ["The loyalty_balance field must be a number."],
            },
        ),
        (
            6,
            {
                "house_account_balance": ["The house_account_balance field must be a number."],
                "loyalty_balance": ["The loyalty_balance field must be a number."],
            },
        ),
    ]
    customer = by_phone(api)[good]
    assert (customer["house_account_balance"], customer["loyalty_balance"]) == (-999999999.999, 1.5)
    [debt] = ledger_entries(client, house_account_transactions, customer["id"])
    assert debt["balance_after"] == Decimal("-999999999.999")


def test_a_row_skipped_for_its_phone_leaves_that_customers_balances_alone(
    import_file: Callable[..., str], api: Api, client: TestClient, tmp_path: Path
) -> None:
    existing = api.make_customer()
    path = jsonl_file(
        tmp_path / "again.jsonl",
        {
            "name": "Again",
            "dial_code": 966,
            "phone": existing["phone"],
            "house_account_balance": 50,
            "loyalty_balance": 9,
        },
    )

    assert "0 created, 1 skipped" in import_file(path)

    shown = api.get(f"/customers/{existing['id']}").json()["data"]
    assert (shown["house_account_balance"], shown["loyalty_balance"]) == (0, 0)
    assert ledger_entries(client, house_account_transactions, existing["id"]) == []
    assert ledger_entries(client, loyalty_transactions, existing["id"]) == []


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_an_export_brings_its_balances_into_another_business_each_as_its_opening_entry(
    file_format: str,
    clientele: Clientele,
    import_file: Callable[..., str],
    api: Api,
    other_api: Api,
    client: TestClient,
    tmp_path: Path,
) -> None:
    source = jsonl_file(
        tmp_path / "source.jsonl",
        {"name": "Small debt", "dial_code": 966, "phone": next_phone(), "house_account_balance": -0.125},
        {"name": "Credit", "dial_code": 966, "phone": next_phone(), "house_account_balance": "999999999.999"},
        {"name": "Points", "dial_code": 966, "phone": next_phone(), "loyalty_balance": 7.5},
        {"name": "Nothing", "dial_code": 966, "phone": next_phone()},
    )
    import_file(source)
    output = tmp_path / f"export.{file_format}"
    assert clientele("export", "--business", api.business_id, "--output", output).exit_code == 0

    result = clientele("import", output, "--business", other_api.business_id)

    assert result.exit_code == 0, result.output + result.stderr
    assert "4 created" in result.stdout and "Recorded 3 imported balances" in result.stdout
    balances = ("house_account_balance", "loyalty_balance")
    exported = {phone: [customer[name] for name in balances] for phone, customer in by_phone(api).items()}
    moved = by_phone(other_api)
    assert {phone: [customer[name] for name in balances] for phone, customer in moved.items()} == exported
    for customer in moved.values():
        for balance, ledger in (
            ("house_account_balance", house_account_transactions),
            ("loyalty_balance", loyalty_transactions),
        ):
            entries = ledger_entries(client, ledger, customer["id"])
            opening = [(Decimal(str(customer[balance])),) * 2] if customer[balance] else []
            assert [(entry["amount"], entry["balance_after"]) for entry in entries] == opening


# --- export -------------------------------------------------------------------------------


@pytest.fixture
def export(clientele: Clientele) -> Callable[..., str]:
    """`export(api, *options)`: the export of the api's business, as written to stdout."""

    def run(api: Api, *options: Any) -> str:
        result = clientele("export", "--business", api.business_id, *options)
        assert result.exit_code == 0, result.output + result.stderr
        return result.stdout

    return run


def test_a_json_lines_export_shows_each_customer_as_the_api_does(
    export: Callable[..., str], api: Api, overwrite: Callable[..., None]
) -> None:
    customer = api.make_customer(
        email="a@example.com",
        gender=1,
        birth_date="1980-01-01",
        house_account_limit=100,
        is_loyalty_enabled=True,
        is_house_account_enabled=True,
        notes="Window seat.\nNo onions, ever.",
    )
    overwrite(customers, customer["id"], house_account_balance=12.5, loyalty_balance=3, order_count=2)
    shown = api.get(f"/customers/{customer['id']}").json()["data"]

    exported = [orjson.loads(line) for line in export(api, "--format", "jsonl").splitlines()]

    assert exported == [shown]


def test_a_csv_export_holds_the_api_values_as_text(
    export: Callable[..., str], api: Api, overwrite: Callable[..., None]
) -> None:
    customer = api.make_customer(email="a@example.com", is_blacklisted=True, notes='Says "hi",\nalways.')
    overwrite(customers, customer["id"], house_account_balance=12.5)
    shown = api.get(f"/customers/{customer['id']}").json()["data"]

    [row] = list(csv.DictReader(io.StringIO(export(api))))

    assert list(row) == list(shown)
    assert row == {
        name: ("" if value is None else str(value).lower() if isinstance(value, bool) else str(value))
        for name, value in shown.items()
    }


def test_export_streams_every_customer_oldest_first(export: Callable[..., str], api: Api) -> None:
    made = [api.make_customer(name=f"Customer {n}")["id"] for n in range(7)]

    exported = [row["id"] for row in csv.DictReader(io.StringIO(export(api, "--batch-size", "2")))]

    assert exported == made == [customer["id"] for customer in every_customer(api)]


def test_export_leaves_out_deleted_customers_unless_asked(export: Callable[..., str], api: Api) -> None:
    kept, deleted = api.make_customer(), api.make_customer()
    api.delete(f"/customers/{deleted['id']}")

    default = [orjson.loads(line)["id"] for line in export(api, "--format", "jsonl").splitlines()]
    everything = [
        orjson.loads(line)["id"] for line in export(api, "--format", "jsonl", "--include-deleted").splitlines()
    ]

    assert default == [kept["id"]]
    assert everything == [kept["id"], deleted["id"]]


def test_export_writes_a_file_in_the_format_its_name_gives(clientele: Clientele, api: Api, tmp_path: Path) -> None:
    customer = api.make_customer()
    output = tmp_path / "out.jsonl"

    result = clientele("export", "--business", api.business_id, "--output", output)

    assert result.exit_code == 0, result.output
    assert [orjson.loads(line)["id"] for line in output.read_bytes().splitlines()] == [customer["id"]]
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == [output]


def test_export_refuses_an_unknown_business(clientele: Clientele, tmp_path: Path) -> None:
    result = clientele("export", "--business", "00000000-0000-7000-8000-000000000000", "--output", tmp_path / "out.csv")

    assert result.exit_code != 0 and "No business" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_export_to_a_folder_that_does_not_exist_is_a_one_line_error(
    clientele: Clientele, api: Api, tmp_path: Path
) -> None:
    result = clientele("export", "--business", api.business_id, "--output", tmp_path / "missing" / "out.csv")

    assert result.exit_code == 1 and "missing" in result.stderr
    assert isinstance(result.exception, SystemExit)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_an_export_imports_cleanly_into_another_business(
    file_format: str, clientele: Clientele, api: Api, other_api: Api, overwrite: Callable[..., None], tmp_path: Path
) -> None:
    api.make_customer(name="Plain")
    api.make_customer(
        name="سارة الغامدي",
        email="sara@example.com",
        gender=2,
        birth_date="1995-07-08",
        house_account_limit=0,
        is_loyalty_enabled=True,
        is_blacklisted=True,
        is_house_account_enabled=True,
    )
    api.make_customer(name='Quote " and, comma', dial_code=44, phone="7700900123")
    with_orders = api.make_customer(name="Regular")
    overwrite(customers, with_orders["id"], order_count=41, last_order_at=None)
    output = tmp_path / f"export.{file_format}"
    assert clientele("export", "--business", api.business_id, "--output", output).exit_code == 0

    result = clientele("import", output, "--business", other_api.business_id)

    assert result.exit_code == 0, result.output
    assert "4 created, 0 skipped (an active customer has the phone), 0 rejected" in result.stdout
    assert sorted(map(importable, every_customer(other_api)), key=str) == sorted(
        map(importable, every_customer(api)), key=str
    )
