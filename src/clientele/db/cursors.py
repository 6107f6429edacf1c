"""Keyset cursors: signed, opaque tokens for "the rows after this one" of one list, and their key."""

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

import orjson
from sqlalchemy import Column, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clientele.db.metadata import metadata
from clientele.errors import BadRequest

instance_settings = Table(
    "instance_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

SECRET_SETTING = "secret_key"
# Versioned, so that a change of the cursor format makes older cursors fail verification
# (a clean 400) instead of being read the wrong way.
KEY_CONTEXT = b"clientele keyset cursor v1"
TAG_BYTES = hashlib.sha256().digest_size
LIST_DIGEST_CHARS = 16
# Far above any cursor we issue (about 200 characters); longer input is refused unread.
MAX_CURSOR_CHARS = 1024
BASE64URL = re.compile(r"[A-Za-z0-9_-]+")

INVALID = "The cursor is not valid: send back a meta.next_cursor exactly as it was received."
OTHER_LIST = "The cursor belongs to another list: send it with the sort and filters of the request that returned it."


def invalid_cursor(sentence: str) -> BadRequest:
    return BadRequest(sentence, errors={"cursor": [sentence]})


async def cursor_key(*, secret_key: str | None, connection: AsyncConnection) -> bytes:
    """The key that signs cursors: derived from SECRET_KEY where it is set, else from the instance secret."""
    secret = secret_key or await connection.scalar(
        select(instance_settings.c.value).where(instance_settings.c.key == SECRET_SETTING)
    )
    if secret is None:
        raise RuntimeError("The instance secret is missing: run `clientele migrate`.")
    # A key of its own for cursors, so that SECRET_KEY can sign other things later.
    return hmac.new(secret.encode(), KEY_CONTEXT, hashlib.sha256).digest()


def encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(text: str) -> bytes | None:
    if len(text) > MAX_CURSOR_CHARS or not BASE64URL.fullmatch(text):
        return None
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        return None


@dataclass(frozen=True)
class CursorSigner:
    """Signs and opens the cursors of one list: `binding` describes that list canonically."""

    key: bytes
    binding: bytes

    @property
    def list_digest(self) -> str:
        return hashlib.sha256(self.binding).hexdigest()[:LIST_DIGEST_CHARS]

    def tag(self, payload: bytes) -> bytes:
        return hmac.new(self.key, payload, hashlib.sha256).digest()

    def sign(self, values: list[str | None]) -> str:
        """A cursor for the row whose sort values (as text, None for NULL) are `values`."""
        payload = orjson.dumps([self.list_digest, *values])
        return encode(self.tag(payload) + payload)

    def open(self, cursor: str) -> list[str | None]:
        """The sort values inside `cursor`; 400 naming `cursor` if it is damaged or not this list's."""
        raw = decode(cursor)
        if raw is None or len(raw) <= TAG_BYTES:
            raise invalid_cursor(INVALID)
        tag, payload = raw[:TAG_BYTES], raw[TAG_BYTES:]
        if not hmac.compare_digest(tag, self.tag(payload)):
            raise invalid_cursor(INVALID)
        # Signed by us, so the payload is a list digest and then strings or nulls.
        opened: list[str | None] = orjson.loads(payload)
        digest, *values = opened
        if digest != self.list_digest:
            raise invalid_cursor(OTHER_LIST)
        return values
