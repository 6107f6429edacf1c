"""A customer's house-account statement for a period (`clientele statement`): the opening balance,
each entry of the period, the closing balance; as CSV or as PDF (docs/decisions.md, "Statements")."""

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.auth.models import businesses
from clientele.customers.models import customers
from clientele.ledgers.models import house_account_transactions
from clientele.web.validation import THOUSANDTH
from clientele.web.wire import format_timestamp

TABLE_HEADER = ("date (UTC)", "description", "order_id", "payment_method_id", "charge", "payment", "balance")


class StatementError(Exception):
    """The statement cannot be made (no such business or customer): the message says why."""


@dataclass(frozen=True)
class StatementEntry:
    created_at: datetime
    amount: Decimal
    order_id: str | None
    payment_method_id: str | None
    balance_after: Decimal
    imported: bool  # the opening entry of a balance brought by import

    @property
    def description(self) -> str:
        if self.imported:
            return "Imported balance"
        return "Payment" if self.amount > 0 else "Charge"


@dataclass(frozen=True)
class Statement:
    business_id: uuid.UUID
    business_name: str
    customer_id: uuid.UUID
    customer_name: str
    dial_code: int
    phone: str
    start: date | None  # None: from the first entry
    end: date  # inclusive
    opening_balance: Decimal
    entries: list[StatementEntry]

    @property
    def closing_balance(self) -> Decimal:
        return self.entries[-1].balance_after if self.entries else self.opening_balance

    @property
    def period(self) -> str:
        start = "the first entry" if self.start is None else self.start.isoformat()
        return f"{start} to {self.end.isoformat()}"


def money(value: Decimal) -> str:
    return format(value.quantize(THOUSANDTH), "f")


async def load_statement(
    *, connection: AsyncConnection, business_id: uuid.UUID, customer_id: uuid.UUID, start: date | None, end: date
) -> Statement:
    """A customer's house-account statement from `start` (None: the first entry) to `end`, both whole
    UTC days; StatementError if the business or the customer (deleted or not) does not exist."""
    business_name = await connection.scalar(select(businesses.c.name).where(businesses.c.id == business_id))
    if business_name is None:
        raise StatementError(f"No business with id {business_id}.")
    c = customers.c
    customer = (
        await connection.execute(
            select(c.name, c.dial_code, c.phone).where(c.business_id == business_id, c.id == customer_id)
        )
    ).one_or_none()
    if customer is None:
        raise StatementError(f"No customer with id {customer_id} in business {business_id}.")
    t = house_account_transactions.c
    of_customer = (t.business_id == business_id, t.customer_id == customer_id)
    in_period = [t.created_at < datetime.combine(end + timedelta(days=1), time())]
    opening_balance = Decimal(0)
    if start is not None:
        period_start = datetime.combine(start, time())
        in_period.append(t.created_at >= period_start)
        before = await connection.scalar(
            select(t.balance_after)
            .where(*of_customer, t.created_at < period_start)
            .order_by(t.created_at.desc(), t.id.desc())
            .limit(1)
        )
        opening_balance = Decimal(0) if before is None else before
    rows = await connection.execute(
        select(t.created_at, t.amount, t.order_id, t.payment_method_id, t.balance_after, t.meta)
        .where(*of_customer, *in_period)
        .order_by(t.created_at, t.id)
    )
    entries = [
        StatementEntry(
            created_at=row.created_at,
            amount=row.amount,
            order_id=row.order_id,
            payment_method_id=row.payment_method_id,
            balance_after=row.balance_after,
            imported=isinstance(row.meta, dict) and row.meta.get("source") == "import",
        )
        for row in rows
    ]
    return Statement(
        business_id=business_id,
        business_name=business_name,
        customer_id=customer_id,
        customer_name=customer.name,
        dial_code=customer.dial_code,
        phone=customer.phone,
        start=start,
        end=end,
        opening_balance=opening_balance,
        entries=entries,
    )


def table_rows(statement: Statement) -> list[tuple[str, ...]]:
    """The statement's table: the opening balance, an entry a row (a charge and a payment in columns
    of their own, both positive), the closing balance."""
    opening_date = "" if statement.start is None else statement.start.isoformat()
    rows: list[tuple[str, ...]] = [(opening_date, "Opening balance", "", "", "", "", money(statement.opening_balance))]
    for entry in statement.entries:
        charge, payment = ("", money(entry.amount)) if entry.amount > 0 else (money(-entry.amount), "")
        rows.append(
            (
                format_timestamp(entry.created_at) or "",
                entry.description,
                entry.order_id or "",
                entry.payment_method_id or "",
                charge,
                payment,
                money(entry.balance_after),
            )
        )
    rows.append((statement.end.isoformat(), "Closing balance", "", "", "", "", money(statement.closing_balance)))
    return rows


def heading(statement: Statement) -> list[tuple[str, str]]:
    return [
        ("business", f"{statement.business_name} ({statement.business_id})"),
        ("customer", f"{statement.customer_name} ({statement.customer_id})"),
        ("phone", f"+{statement.dial_code} {statement.phone}"),
        ("period", statement.period),
    ]


def statement_csv(statement: Statement) -> bytes:
    """The statement as CSV: its heading as `name,value` lines, an empty line, then the table with a
    header line; money as plain decimals with 3 places, so that a spreadsheet reads them as numbers."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(("House account statement",))
    writer.writerows(heading(statement))
    writer.writerow(())
    writer.writerow(TABLE_HEADER)
    writer.writerows(table_rows(statement))
    return text.getvalue().encode()


def drawable(text: str) -> str:
    """`text` as the PDF core fonts can draw it: they hold Latin-1 alone, and the rest shows as `?`."""
    return text.encode("latin-1", errors="replace").decode("latin-1")


def statement_pdf(statement: Statement) -> bytes:
    """The statement as an A4 PDF drawn with a core font (no font file to ship or find): names in
    scripts beyond Latin-1, Arabic among them, show as question marks; the customer's id and phone
    beside them still say who it is, and the CSV holds the name as stored."""
    # Here, not at the top: fpdf2 brings Pillow and fontTools, which no other command needs.
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_title("House account statement")
    pdf.set_creator("Clientele")
    pdf.add_page()
    pdf.set_font("helvetica", style="B", size=14)
    pdf.cell(text="House account statement", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_font("helvetica", size=10)
    for name, value in heading(statement):
        pdf.cell(w=25, h=6, text=f"{name.capitalize()}:")
        pdf.cell(h=6, text=drawable(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_font("helvetica", size=9)
    # A sequence, one per column, is taken though the signature names a single alignment.
    alignments: Any = ("LEFT", "LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT")
    with pdf.table(col_widths=(38, 34, 52, 52, 32, 32, 34), text_align=alignments) as table:
        for row in (TABLE_HEADER, *table_rows(statement)):
            table.row([drawable(cell) for cell in row])
    return bytes(pdf.output())
