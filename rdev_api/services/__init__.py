"""Use cases: depend on domain and ports only; raise domain errors."""
