"""`python -m rdev_cli`."""

from rdev_cli.main import main

main()
