"""The scopes a token can carry (SPEC §2)."""

CUSTOMERS_LIST = "customers.list"
CUSTOMERS_GET = "customers.get"
CUSTOMERS_WRITE = "customers.write"
ACCOUNTS_READ = "customers.accounts.read"
ACCOUNTS_WRITE = "customers.accounts.write"
LOYALTY_READ = "customers.loyalty.read"
LOYALTY_WRITE = "customers.loyalty.write"
ADMIN_WRITE = "admin.write"
ADMIN_RESTORE = "admin.restore"
GENERAL_READ = "general.read"
GENERAL_WRITE = "general.write"
EVENTS_READ = "events.read"
WEBHOOKS_MANAGE = "webhooks.manage"

ALL_SCOPES: tuple[str, ...] = (
    CUSTOMERS_LIST,
    CUSTOMERS_GET,
    CUSTOMERS_WRITE,
    ACCOUNTS_READ,
    ACCOUNTS_WRITE,
    LOYALTY_READ,
    LOYALTY_WRITE,
    ADMIN_WRITE,
    ADMIN_RESTORE,
    GENERAL_READ,
    GENERAL_WRITE,
    EVENTS_READ,
    WEBHOOKS_MANAGE,
)

# The scopes that decide what a reader sees; a webhook endpoint keeps those of the token that made it.
READ_SCOPES: tuple[str, ...] = (CUSTOMERS_LIST, CUSTOMERS_GET, ACCOUNTS_READ, LOYALTY_READ, GENERAL_READ)
