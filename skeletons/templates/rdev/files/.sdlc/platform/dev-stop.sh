#!/bin/sh
# dev stop: stop the development environment in the project's rdev workspace (containers are
# removed, volumes kept). Run by `sdlc platform dev stop` from the project root.
set -eu
PROG="dev stop"
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	printf 'usage: %s\n' "$PROG"
	printf '  runs `docker compose -f %s down` on rdev project %s\n' "$COMPOSE_FILE_PATH" "${RDEV_PROJECT:-(RDEV_PROJECT is not set)}"
}

case ${1:-} in
-h | --help)
	usage
	exit 0
	;;
esac
[ $# -eq 0 ] || usage_error "unexpected argument '$1'"
require_rdev

note "Stopping development environment (rdev project $RDEV_PROJECT)"
exec rdev exec "$RDEV_PROJECT" -- docker compose -f "$COMPOSE_FILE_PATH" down
