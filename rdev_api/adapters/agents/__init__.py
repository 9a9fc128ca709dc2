"""Agent providers for the `claude` and `opencode` command kinds."""
