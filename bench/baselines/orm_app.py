"""The reference "common FastAPI service": the same two routes on the same customers table,
written the way most FastAPI services are.

- SQLAlchemy ORM: declarative models, an `AsyncSession` per request from a dependency,
  `session.add` + `commit` + `refresh` on create.
- Pydantic models for the body and the `response_model` (FastAPI validates and serialises).
- The engine's default pool (5 connections + 10 overflow per worker).

For fairness it does the work Clientele does on these routes: the bearer token is looked up
by its SHA-256 hash and checked for revocation, expiry and scope; the phone is normalised
with `phonenumbers` and checked for an active duplicate before the insert; ids are
time-ordered UUIDv7, so inserts land at the end of the primary key index as Clientele's do.
It omits includes, guarded fields and Clientele's error format.
"""

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal

import phonenumbers
from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from clientele.db.ids import new_id

engine = create_async_engine(os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+asyncpg://", 1))
Session = async_sessionmaker(engine, expire_on_commit=False)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # the table stores naive UTC


class Base(DeclarativeBase):
    pass


class Token(Base):
    __tablename__ = "tokens"

    business_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    token_hash: Mapped[str]
    scopes: Mapped[str]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Customer(Base):
    __tablename__ = "customers"

    business_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str]
    dial_code: Mapped[int]
    phone: Mapped[str]
    email: Mapped[str | None]
    gender: Mapped[int | None]
    birth_date: Mapped[date | None]
    house_account_limit: Mapped[int | None]
    house_account_balance: Mapped[Decimal] = mapped_column(default=Decimal(0))
    loyalty_balance: Mapped[Decimal] = mapped_column(default=Decimal(0))
    is_loyalty_enabled: Mapped[bool] = mapped_column(default=False)
    is_blacklisted: Mapped[bool] = mapped_column(default=False)
    is_house_account_enabled: Mapped[bool] = mapped_column(default=False)
    last_order_at: Mapped[datetime | None]
    order_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]


class CustomerIn(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    dial_code: int
    phone: str = Field(min_length=1, max_length=32)
    email: EmailStr | None = None
    gender: Literal[1, 2] | None = None
    birth_date: date | None = None
    is_blacklisted: bool = False

    @model_validator(mode="after")
    def normalise_phone(self) -> "CustomerIn":
        try:
            number = phonenumbers.parse(f"+{self.dial_code}{self.phone}")
        except phonenumbers.NumberParseException as error:
            raise ValueError("invalid phone") from error
        if number.country_code != self.dial_code or not phonenumbers.is_possible_number(number):
            raise ValueError("invalid phone")
        self.phone = phonenumbers.national_significant_number(number)
        return self


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    dial_code: int
    phone: str
    email: str | None
    gender: int | None
    birth_date: date | None
    house_account_limit: int | None
    house_account_balance: float
    loyalty_balance: float
    is_loyalty_enabled: bool
    is_blacklisted: bool
    is_house_account_enabled: bool
    last_order_at: datetime | None
    order_count: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class CustomerEnvelope(BaseModel):
    data: CustomerOut


async def get_session() -> AsyncIterator[AsyncSession]:
    async with Session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def current_token(session: SessionDep, authorization: Annotated[str, Header()] = "") -> Token:
    secret = authorization.removeprefix("Bearer ").strip()
    token = await session.scalar(select(Token).where(Token.token_hash == hashlib.sha256(secret.encode()).hexdigest()))
    if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at <= utcnow()):
        raise HTTPException(status_code=401, detail="Unauthenticated.")
    return token


TokenDep = Annotated[Token, Depends(current_token)]


def require(token: Token, scope: str) -> None:
    if scope not in token.scopes.split():
        raise HTTPException(status_code=403, detail=f"This action requires the {scope} scope.")


app = FastAPI()


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/customers/{customer_id}", response_model=CustomerEnvelope)
async def get_customer(customer_id: uuid.UUID, token: TokenDep, session: SessionDep) -> dict[str, Customer]:
    require(token, "customers.get")
    customer = await session.scalar(
        select(Customer).where(Customer.business_id == token.business_id, Customer.id == customer_id)
    )
    if customer is None:
        raise HTTPException(status_code=404, detail="Customer not found.")
    return {"data": customer}


@app.post("/customers", response_model=CustomerEnvelope, status_code=201)
async def create_customer(body: CustomerIn, token: TokenDep, session: SessionDep) -> dict[str, Customer]:
    require(token, "customers.write")
    taken = await session.scalar(
        select(Customer.id).where(
            Customer.business_id == token.business_id,
            Customer.dial_code == body.dial_code,
            Customer.phone == body.phone,
            Customer.deleted_at.is_(None),
        )
    )
    if taken is not None:
        raise HTTPException(status_code=422, detail="The phone has already been taken.")
    customer = Customer(business_id=token.business_id, **body.model_dump())
    session.add(customer)
    await session.commit()
    await session.refresh(customer)
    return {"data": customer}
