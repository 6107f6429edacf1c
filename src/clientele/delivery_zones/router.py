"""HTTP routes for delivery zones (SPEC §6)."""

from fastapi import APIRouter

router = APIRouter(prefix="/delivery_zones", tags=["delivery zones"])
