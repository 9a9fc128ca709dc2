"""Use cases of the `sdlc` command: each takes a Store and plain arguments and returns plain
data for the CLI to render. Mutations run inside a Transaction."""
