"""Local adapters: workspaces on this machine, processes, sandboxing."""
