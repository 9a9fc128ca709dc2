"""Templates the platform scaffolds and their renderer (spec/skeletons.md): sandboxed Jinja,
validated answers, safe paths, plan-then-write, lock files for update and drift checks."""
