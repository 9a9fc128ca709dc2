#!/bin/sh
# dev start: start the development environment (Docker Compose, detached).
# Run by `sdlc platform dev start` from the project root.
set -eu
PROG="dev start"
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	printf 'usage: %s\n' "$PROG"
	printf '  starts the services of %s in the background\n' "$COMPOSE_FILE_PATH"
}

case ${1:-} in
-h | --help)
	usage
	exit 0
	;;
esac
[ $# -eq 0 ] || usage_error "unexpected argument '$1'"

printf 'Starting development environment\n'
if [ ! -f "$COMPOSE_FILE_PATH" ]; then
	printf '%s: no Compose file at %s: nothing to start\n' "$PROG" "$COMPOSE_FILE_PATH" >&2
	exit 0
fi
compose up -d
printf 'Development environment is up (logs: sdlc platform logs SERVICE)\n'
