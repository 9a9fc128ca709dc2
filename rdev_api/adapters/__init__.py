"""Adapters: the implementations of rdev_api.ports for the local edition."""
