"""The rdev API service (spec/rdev-api.md): hexagonal, local edition first."""
