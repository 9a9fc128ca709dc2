"""The HTTP layer: FastAPI routers, auth, error envelope, middleware."""
