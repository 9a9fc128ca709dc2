"""Domain models and rules of the API: standard library and pydantic only."""
