#!/bin/sh
# dev stop: stop the development environment and remove its containers (volumes are kept).
# Run by `sdlc platform dev stop` from the project root.
set -eu
PROG="dev stop"
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	printf 'usage: %s\n' "$PROG"
	printf '  stops the services of %s (their volumes are kept)\n' "$COMPOSE_FILE_PATH"
}

case ${1:-} in
-h | --help)
	usage
	exit 0
	;;
esac
[ $# -eq 0 ] || usage_error "unexpected argument '$1'"

printf 'Stopping development environment\n'
if [ ! -f "$COMPOSE_FILE_PATH" ]; then
	printf '%s: no Compose file at %s: nothing to stop\n' "$PROG" "$COMPOSE_FILE_PATH" >&2
	exit 0
fi
compose down
printf 'Development environment stopped\n'
