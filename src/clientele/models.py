"""Every table, imported in one place so the metadata is complete for migrations."""

from clientele.addresses.models import addresses
from clientele.auth.models import businesses, tokens
from clientele.cursors import instance_settings
from clientele.customers.models import customers
from clientele.delivery_zones.models import delivery_zones
from clientele.idempotency import idempotency_keys
from clientele.tags.models import customer_tags, tags

__all__ = ["addresses", "businesses", "customer_tags", "customers", "delivery_zones", "idempotency_keys",
           "instance_settings", "tags", "tokens"]
