"""The one list engine: a query string parsed against a list's `ListSpec`, one page of rows
fetched with its total, and the page body. Nothing here knows HTTP: routers hand it the query
parameters and the request's URL."""
