"""HTTP routes for addresses (SPEC §6)."""

from fastapi import APIRouter

router = APIRouter(prefix="/addresses", tags=["addresses"])
