"""The tag on the wire."""

from typing import Annotated, Any

from pydantic import BaseModel, Field

from clientele.web.validation import Body, OptionalText, RequiredName
from clientele.web.wire import Included, OptionalTimestamp, RecordId, RecordShape, Timestamp

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
    customers_count: Annotated[int | None, Included()] = Field(
        None,
        description="Present only with include=customersCount: the non-deleted customers holding the tag, "
        "as many as `GET /customers?filter[tags.id]=<id>` lists (0 for a deleted tag).",
    )


TAG_SHAPE = RecordShape(TagOut)


def tag_body(row: Any) -> dict[str, Any]:
    return TAG_SHAPE.body(row)
