"""The `sdlc` command: thin typer modules over `sdlc.ops`, loaded per command group."""
