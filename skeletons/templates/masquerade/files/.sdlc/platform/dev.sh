#!/bin/sh
# dev SUBCOMMAND [ARGS...]: the development environment (start, stop, quality, migrate).
# `sdlc platform dev SUBCOMMAND` runs the subcommand's script directly; this one dispatches
# for people who run `.sdlc/platform/dev.sh start` by hand.
set -eu
PROG=dev
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	printf 'usage: %s start|stop|quality|migrate [ARGS...]\n' "$PROG"
	printf '  start    start the development environment\n'
	printf '  stop     stop it\n'
	printf "  quality  run the project's quality checks\n"
	printf '  migrate  list the database migrations to apply (--apply applies them)\n'
}

subcommand=${1:-}
case $subcommand in
start | stop | quality | migrate)
	shift
	exec sh "$(dirname "$0")/dev-$subcommand.sh" "$@"
	;;
-h | --help)
	usage
	exit 0
	;;
'') usage_error "missing subcommand" ;;
*) usage_error "unknown subcommand '$subcommand'" ;;
esac
