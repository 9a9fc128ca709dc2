#!/bin/sh
# deploy SERVICE ENVIRONMENT: deploy one service of the platform to an environment.
# Run by `sdlc platform deploy SERVICE ENVIRONMENT` from the project root.
set -eu
PROG=deploy
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	printf 'usage: %s SERVICE ENVIRONMENT\n' "$PROG"
	printf '  SERVICE      one of %s\n' "$(listing "$MASQUERADE_SERVICES")"
	printf '  ENVIRONMENT  one of %s\n' "$(listing "$MASQUERADE_ENVIRONMENTS")"
}

case ${1:-} in
-h | --help)
	usage
	exit 0
	;;
esac
[ $# -eq 2 ] || usage_error "expected SERVICE and ENVIRONMENT, got $# argument(s)"
service=$1
environment=$2
check_choice service "$service" "$MASQUERADE_SERVICES"
check_choice environment "$environment" "$MASQUERADE_ENVIRONMENTS"

printf 'Deploying %s to %s\n' "$service" "$environment"
# The masquerade preset announces the deploy; put the real rollout for "$service" in
# "$environment" here (this file is yours: `sdlc init` never overwrites it).
