"""Ports: the interfaces services depend on (typing.Protocol); adapters implement them."""
