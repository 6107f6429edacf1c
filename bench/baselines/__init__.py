"""Reference servers the harness measures Clientele against (served by the same uvicorn)."""
