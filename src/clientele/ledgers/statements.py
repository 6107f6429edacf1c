"""A customer's house-account statement for a period (`clientele statement`): the opening balance,
each entry of the period, the closing balance; as CSV or as PDF (docs/decisions.md, "Statements")."""

import csv
import io
import unicodedata
import uuid
from collections.abc import Container
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from importlib.resources import as_file, files
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.auth.models import businesses
from clientele.customers.models import customers
from clientele.ledgers.models import house_account_transactions
from clientele.web.validation import THOUSANDTH
from clientele.web.wire import format_timestamp

TABLE_HEADER = ("date (UTC)", "description", "order_id", "payment_method_id", "charge", "payment", "balance")
# The PDF's fonts (ledgers/fonts, OFL.txt beside them), in the order tried for each character: Noto Sans
# draws Latin with its accents, Greek and Cyrillic, Noto Sans Arabic the Arabic script (Persian and Urdu too).
PDF_FONTS = {"noto-sans": "NotoSans-Regular.ttf", "noto-sans-arabic": "NotoSansArabic-Regular.ttf"}


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


def heading(statement: Statement) -> list[tuple[str, tuple[str, ...]]]:
    """The statement's heading, a label and its value a line; the value in parts, a name apart from
    the id beside it, so that the PDF can lay each out in its own direction."""
    return [
        ("business", (statement.business_name, f"({statement.business_id})")),
        ("customer", (statement.customer_name, f"({statement.customer_id})")),
        ("phone", (f"+{statement.dial_code} {statement.phone}",)),
        ("period", (statement.period,)),
    ]


def statement_csv(statement: Statement) -> bytes:
    """The statement as CSV: its heading as `name,value` lines, an empty line, then the table with a
    header line; money as plain decimals with 3 places, so that a spreadsheet reads them as numbers."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(("House account statement",))
    writer.writerows((name, " ".join(parts)) for name, parts in heading(statement))
    writer.writerow(())
    writer.writerow(TABLE_HEADER)
    writer.writerows(table_rows(statement))
    return text.getvalue().encode()


def drawable(text: str, characters: Container[int]) -> str:
    """`text` with `?` for each character that no font of the PDF draws (Devanagari, say), which would
    otherwise vanish and leave a name looking empty; format characters (joiners, direction marks) draw
    nothing anyway and stay."""
    return "".join(c if ord(c) in characters or unicodedata.category(c) == "Cf" else "?" for c in text)


def runs_right_to_left(text: str) -> bool:
    """Whether `text` holds letters of a right-to-left script, which only a shaping engine joins and
    orders."""
    return any(unicodedata.bidirectional(c) in ("R", "AL") for c in text)


def statement_pdf(statement: Statement) -> bytes:
    """The statement as an A4 PDF, drawn with the fonts the package carries and shaped by HarfBuzz:
    a name in Arabic script shows with its letters joined, right to left, and the figures beside it
    left to right (docs/decisions.md, "Statements")."""
    # Here, not at the top: fpdf2 brings Pillow, fontTools and uharfbuzz, which no other command needs.
    from fpdf import FPDF, FontFace
    from fpdf.enums import TextEmphasis, XPos, YPos
    from fpdf.fonts import TTFFont

    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_title("House account statement")
    pdf.set_creator("Clientele")
    with ExitStack() as font_files:
        characters: set[int] = set()
        for family, file_name in PDF_FONTS.items():
            # A real file for as long as the PDF is made: HarfBuzz opens it when it first shapes text.
            path = font_files.enter_context(as_file(files("clientele.ledgers") / "fonts" / file_name))
            pdf.add_font(family, fname=path)
            font = pdf.fonts[family]
            assert isinstance(font, TTFFont)  # as add_font makes it; fpdf2 types it as either kind
            characters.update(font.cmap)
        first, *fallbacks = PDF_FONTS
        pdf.set_fallback_fonts(fallbacks)
        # Each piece of text takes the direction of its first letter, as the Unicode algorithm has it:
        # a name in Arabic script runs right to left with any number in it left to right. A name gets
        # a cell of its own, since fpdf2 orders a right-to-left run holding a number wrongly within a
        # left-to-right line (the number lands at the run's far end).
        pdf.set_text_shaping()
        pdf.add_page()
        # The fonts come in one weight: headings stand out by size and shading instead of bold.
        pdf.set_font(first, size=16)
        pdf.cell(text="House account statement", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)
        pdf.set_font(size=10)
        for name, parts in heading(statement):
            pdf.cell(w=25, h=6, text=f"{name.capitalize()}:")
            for part in parts:
                pdf.cell(h=6, text=drawable(part, characters))
            pdf.ln()
        pdf.ln(4)
        pdf.set_font(size=9)
        rows = [[drawable(cell, characters) for cell in row] for row in (TABLE_HEADER, *table_rows(statement))]
        # Shaped only when it holds right-to-left text: fpdf2 measures each character through the
        # shaper as it breaks lines, which made a table of 500 entries four times slower (16 s against 4).
        pdf.set_text_shaping(use_shaping_engine=any(runs_right_to_left(cell) for row in rows for cell in row))
        # A sequence, one per column, is taken though the signature names a single alignment.
        alignments: Any = ("LEFT", "LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT")
        with pdf.table(
            col_widths=(38, 34, 52, 52, 32, 32, 34),
            text_align=alignments,
            headings_style=FontFace(emphasis=TextEmphasis.NONE, fill_color=225),
        ) as table:
            for row in rows:
                table.row(row)
        return bytes(pdf.output())
