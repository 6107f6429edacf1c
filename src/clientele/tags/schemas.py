"""The tag on the wire."""

from pydantic import BaseModel, Field

from clientele.validation import Body, OptionalText, RequiredName

REQUIRED_ON_CREATE = ("name",)


class TagInput(Body):
    """A create or update body; on update only the fields sent change."""

    name: RequiredName = None
    name_localized: OptionalText = None


class TagOut(BaseModel):
    id: str
    name: str
    name_localized: str | None
    created_at: str = Field(description="UTC, YYYY-MM-DD HH:MM:SS")
    updated_at: str = Field(description="UTC, YYYY-MM-DD HH:MM:SS")
    deleted_at: str | None = Field(description="UTC, YYYY-MM-DD HH:MM:SS")
