"""`clientele statement` (issue 20): a customer's house-account statement for a period, as CSV or PDF."""

import csv
import io
import re
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.customers.models import customers
from clientele.db.ids import new_id
from clientele.ledgers.models import house_account_transactions
from tests.cli.conftest import Clientele
from tests.conftest import Api, new_business, new_token, run_in_app

Entry = tuple[str, str, str | None, str | None]
# (time, amount, order_id, payment_method_id): two before February, three in it (on its first and
# last instants too), one after.
ENTRIES: tuple[Entry, ...] = (
    ("2026-01-10 09:00:00", "-100", "o-1", None),
    ("2026-01-31 23:59:59", "40.25", None, "pm-cash"),
    ("2026-02-01 00:00:00", "-12.345", "o-2", None),
    ("2026-02-15 12:30:00", "72.095", None, "pm-card"),
    ("2026-02-28 23:59:59", "-1.5", "o-3", None),
    ("2026-03-01 00:00:00", "-8", "o-4", None),
)
FEBRUARY = ("--from", "2026-02-01", "--to", "2026-02-28")
FEBRUARY_TABLE = [
    ["date (UTC)", "description", "order_id", "payment_method_id", "charge", "payment", "balance"],
    ["2026-02-01", "Opening balance", "", "", "", "", "-59.750"],
    ["2026-02-01 00:00:00", "Charge", "o-2", "", "12.345", "", "-72.095"],
    ["2026-02-15 12:30:00", "Payment", "", "pm-card", "", "72.095", "0.000"],
    ["2026-02-28 23:59:59", "Charge", "o-3", "", "1.500", "", "-1.500"],
    ["2026-02-28", "Closing balance", "", "", "", "", "-1.500"],
]


def record_house_entries(
    client: TestClient, business_id: uuid.UUID, customer_id: str, entries: Iterable[Entry]
) -> None:
    """Append house-account entries to a customer's ledger and set its balance to their sum, in one
    transaction, as the ledger's routes do."""
    customer = uuid.UUID(customer_id)

    async def work(connection: AsyncConnection) -> None:
        balance = Decimal(0)
        for at, amount, order_id, payment_method_id in entries:
            balance += Decimal(amount)
            created_at = datetime.fromisoformat(at)
            await connection.execute(
                house_account_transactions.insert().values(
                    business_id=business_id,
                    id=new_id(),
                    customer_id=customer,
                    amount=Decimal(amount),
                    balance_after=balance,
                    order_id=order_id,
                    payment_method_id=payment_method_id,
                    meta={},
                    created_at=created_at,
                    updated_at=created_at,
                )
            )
        await connection.execute(
            update(customers)
            .where(customers.c.business_id == business_id, customers.c.id == customer)
            .values(house_account_balance=balance)
        )

    run_in_app(client, work)


@pytest.fixture
def customer(request: pytest.FixtureRequest, api: Api, client: TestClient) -> dict[str, Any]:
    """A customer with an Arabic name (or the one the test's parameter gives) and the house-account
    entries of ENTRIES."""
    made = api.make_customer(name=getattr(request, "param", "ليلى حسن"), is_house_account_enabled=True)
    record_house_entries(client, api.business_id, made["id"], ENTRIES)
    return made


@pytest.fixture
def statement(clientele: Clientele, api: Api, customer: dict[str, Any]) -> Callable[..., Any]:
    """`statement(*options)`: `clientele statement` for the customer; its result."""
    return lambda *options: clientele(
        "statement", "--business", api.business_id, "--customer", customer["id"], *options
    )


def csv_parts(text: str) -> tuple[dict[str, str], list[list[str]]]:
    """A CSV statement's heading (name → value) and its table, header line first."""
    lines = list(csv.reader(io.StringIO(text)))
    blank = lines.index([])
    return {line[0]: line[1] for line in lines[1:blank]}, lines[blank + 1 :]


def pdf_text(path: Path) -> str:
    """A PDF's text as pypdf reads it back, in NFKC (which turns any Arabic presentation forms back
    into letters), each run of white space made one space."""
    text = " ".join(page.extract_text() for page in PdfReader(path).pages)
    return " ".join(unicodedata.normalize("NFKC", text).split())


def glyphs_per_character(path: Path) -> Counter[str]:
    """How many different glyphs draw each character on a PDF's first page, from its fonts' ToUnicode
    maps: a letter of a joining script drawn joined takes one glyph per form (initial, medial, final),
    drawn unjoined only one."""
    counts: Counter[str] = Counter()
    for font in PdfReader(path).pages[0]["/Resources"]["/Font"].values():
        to_unicode = font.get_object().get("/ToUnicode")
        if to_unicode is not None:
            cmap = to_unicode.get_object().get_data().decode()
            counts.update(chr(int(code, 16)) for code in re.findall(r"^<[0-9A-F]{4}> <([0-9A-F]{4})>$", cmap, re.M))
    return counts


def assert_pdf_holds_the_february_figures(text: str) -> None:
    assert "2026-02-01 to 2026-02-28" in text
    for row in FEBRUARY_TABLE[1:]:
        assert " ".join(cell for cell in row if cell) in text
    for outside in ("o-1", "pm-cash", "40.250", "o-4", "8.000"):
        assert outside not in text


def test_a_csv_statement_shows_the_opening_balance_each_entry_of_the_period_and_the_closing_balance(
    statement: Callable[..., Any], api: Api, customer: dict[str, Any]
) -> None:
    result = statement(*FEBRUARY)

    assert result.exit_code == 0, result.output + result.stderr
    heading, table = csv_parts(result.stdout)
    assert heading == {
        "business": f"Test business ({api.business_id})",
        "customer": f"ليلى حسن ({customer['id']})",
        "phone": f"+966 {customer['phone']}",
        "period": "2026-02-01 to 2026-02-28",
    }
    assert table == FEBRUARY_TABLE


def test_without_a_period_the_statement_runs_from_the_first_entry_to_the_current_balance(
    statement: Callable[..., Any], api: Api, customer: dict[str, Any]
) -> None:
    result = statement()

    assert result.exit_code == 0, result.output + result.stderr
    _, table = csv_parts(result.stdout)
    assert table[1] == ["", "Opening balance", "", "", "", "", "0.000"]
    assert [row[2] or row[3] for row in table[2:-1]] == ["o-1", "pm-cash", "o-2", "pm-card", "o-3", "o-4"]
    assert table[-1][1:] == ["Closing balance", "", "", "", "", "-9.500"]
    assert api.get(f"/customers/{customer['id']}").json()["data"]["house_account_balance"] == -9.5


def test_an_imported_balance_opens_the_statement_as_an_imported_entry(
    clientele: Clientele, api: Api, tmp_path: Path
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("name,dial_code,phone,house_account_balance\nImported,966,565445254,-20.5\n", encoding="utf-8")
    assert clientele("import", path, "--business", api.business_id).exit_code == 0
    [imported] = api.get("/customers").json()["data"]

    result = clientele("statement", "--business", api.business_id, "--customer", imported["id"])

    assert result.exit_code == 0, result.output + result.stderr
    _, table = csv_parts(result.stdout)
    assert [row[1:] for row in table[2:]] == [
        ["Imported balance", "", "", "20.500", "", "-20.500"],
        ["Closing balance", "", "", "", "", "-20.500"],
    ]
    assert table[2][0] == imported["created_at"]


@pytest.mark.parametrize("customer", ["ليلى حسن", "Laila Hassan"], indirect=True)
def test_a_pdf_statement_holds_the_same_figures(
    statement: Callable[..., Any], customer: dict[str, Any], tmp_path: Path
) -> None:
    output = tmp_path / "statement.pdf"

    result = statement(*FEBRUARY, "--output", output)

    assert result.exit_code == 0, result.output + result.stderr
    assert result.stdout == ""
    text = pdf_text(output)
    assert "House account statement" in text
    assert customer["id"] in text and f"+966 {customer['phone']}" in text
    assert_pdf_holds_the_february_figures(text)


def test_a_pdf_statement_draws_arabic_names_joined_beside_figures_that_read_left_to_right(
    clientele: Clientele, client: TestClient, tmp_path: Path
) -> None:
    business = new_business(client, "مطعم النخيل")
    api = Api(client, new_token(client, business).token, business)
    customer = api.make_customer(name="محمد العتيبي", is_house_account_enabled=True)
    record_house_entries(client, business, customer["id"], ENTRIES)
    output = tmp_path / "statement.pdf"

    result = clientele("statement", "--business", business, "--customer", customer["id"], *FEBRUARY, "--output", output)

    assert result.exit_code == 0, result.output + result.stderr
    text = pdf_text(output)
    # Word by word: a reader gives the words of a right-to-left run in the order they are drawn.
    for word in ("مطعم", "النخيل", "محمد", "العتيبي"):
        assert word in text
    glyphs = glyphs_per_character(output)
    assert glyphs["م"] >= 2 and glyphs["ي"] >= 2
    assert str(business) in text and customer["id"] in text and f"+966 {customer['phone']}" in text
    assert_pdf_holds_the_february_figures(text)


def test_an_id_in_arabic_script_in_the_table_is_drawn_joined_too(
    clientele: Clientele, api: Api, client: TestClient, tmp_path: Path
) -> None:
    customer = api.make_customer(name="Laila Hassan", is_house_account_enabled=True)
    record_house_entries(client, api.business_id, customer["id"], [("2026-02-10 10:00:00", "50", None, "تمارا")])
    output = tmp_path / "statement.pdf"

    result = clientele("statement", "--business", api.business_id, "--customer", customer["id"], "--output", output)

    assert result.exit_code == 0, result.output + result.stderr
    assert "Payment تمارا 50.000 50.000" in pdf_text(output)
    assert glyphs_per_character(output)["ا"] == 2  # after م, and alone after ر


@pytest.mark.parametrize("customer", ["राहुल Sharma"], indirect=True)
def test_a_name_in_a_script_the_pdf_has_no_font_for_shows_as_question_marks(
    statement: Callable[..., Any], customer: dict[str, Any], tmp_path: Path
) -> None:
    output = tmp_path / "statement.pdf"

    assert statement(*FEBRUARY, "--output", output).exit_code == 0

    assert f"????? Sharma ({customer['id']})" in pdf_text(output)


def test_the_format_follows_the_output_files_name_and_the_option_overrides_it(
    statement: Callable[..., Any], tmp_path: Path
) -> None:
    as_csv, named_pdf = tmp_path / "statement.csv", tmp_path / "statement.pdf"

    assert statement(*FEBRUARY, "--output", as_csv).exit_code == 0
    assert statement(*FEBRUARY, "--output", named_pdf, "--format", "csv").exit_code == 0

    assert csv_parts(as_csv.read_text())[1] == FEBRUARY_TABLE
    assert csv_parts(named_pdf.read_text())[1] == FEBRUARY_TABLE


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--from", "2026-02-30"), "--from must be a real date as YYYY-MM-DD, not '2026-02-30'."),
        (("--to", "20260228"), "--to must be a real date as YYYY-MM-DD, not '20260228'."),
        (("--from", "2026-03-01", "--to", "2026-02-01"), "--from (2026-03-01) must not be after --to (2026-02-01)."),
        (("--format", "pdf"), "A PDF statement needs --output FILE."),
    ],
)
def test_a_usage_mistake_is_one_line_and_exit_status_2(
    statement: Callable[..., Any], options: tuple[str, ...], message: str
) -> None:
    result = statement(*options)

    assert result.exit_code == 2
    assert result.stderr == message + "\n"
    assert result.stdout == ""


def test_an_unknown_business_or_customer_is_one_line_and_exit_status_1(
    clientele: Clientele, api: Api, other_api: Api, customer: dict[str, Any]
) -> None:
    missing = "00000000-0000-7000-8000-000000000000"

    no_business = clientele("statement", "--business", missing, "--customer", customer["id"])
    no_customer = clientele("statement", "--business", api.business_id, "--customer", missing)
    elsewhere = clientele("statement", "--business", other_api.business_id, "--customer", customer["id"])
    not_an_id = clientele("statement", "--business", api.business_id, "--customer", "nobody")

    assert (no_business.exit_code, no_business.stderr) == (1, f"No business with id {missing}.\n")
    assert (no_customer.exit_code, no_customer.stderr) == (
        1,
        f"No customer with id {missing} in business {api.business_id}.\n",
    )
    assert (elsewhere.exit_code, elsewhere.stderr) == (
        1,
        f"No customer with id {customer['id']} in business {other_api.business_id}.\n",
    )
    assert (not_an_id.exit_code, not_an_id.stderr) == (1, "Not a customer id: nobody\n")
