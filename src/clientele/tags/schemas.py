"""The tag on the wire."""

from typing import Any

from pydantic import BaseModel

from clientele.web.validation import Body, OptionalText, RequiredName
from clientele.web.wire import OptionalTimestamp, RecordId, RecordShape, Timestamp

REQUIRED_ON_CREATE = ("name",)


class TagInput(Body):
    """A create or update body; on update only the fields sent change."""

    name: RequiredName = None
    name_localized: OptionalText = None


class TagOut(BaseModel):
    id: RecordId
    name: str
    name_localized: str | None
    created_at: Timestamp
    updated_at: Timestamp
    deleted_at: OptionalTimestamp


TAG_SHAPE = RecordShape(TagOut)


def tag_body(row: Any) -> dict[str, Any]:
    return TAG_SHAPE.body(row)
