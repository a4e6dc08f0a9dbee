#!/bin/sh
# The image's entry point: `docker run agentpod <process> [arguments]` runs one AgentPod process in the
# foreground as the container's main process (exec), so it receives docker stop's SIGTERM itself.
set -eu
process="${1:-gateway}"
[ "$#" -gt 0 ] && shift
case "$process" in
identity | tenants | pods | reconciler | monitor | ai | gateway) exec node "/app/services/$process/dist/main.js" "$@" ;;
agent) exec node /app/agent/dist/main.js "$@" ;;
cli | agentpod) exec node /app/packages/cli/dist/main.js "$@" ;;
*)
  echo "agentpod image: unknown process '$process'; one of identity tenants pods reconciler monitor ai gateway agent cli" >&2
  exit 64
  ;;
esac
