#!/bin/bash
# Wait until every container of the compose project is healthy (what Compose v2's `up --wait`
# does; Debian bookworm's docker-compose 1.29 has no --wait). Usage: wait-healthy.sh COMPOSE...
set -euo pipefail
deadline=$((SECONDS + ${WAIT_SECONDS:-600}))
while :; do
  mapfile -t ids < <("$@" ps -q)
  if [ ${#ids[@]} -eq 0 ]; then echo "wait-healthy: no container runs" >&2; exit 1; fi
  states=$(docker inspect -f '{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "${ids[@]}")
  if ! grep -qv ' healthy$' <<<"$states"; then
    echo "healthy: $(awk '{sub("^/", "", $1); printf "%s ", $1}' <<<"$states")"
    exit 0
  fi
  # unhealthy is no verdict: Docker 20.10 reports it between failed checks of a slow start
  if grep -qE ' (exited|dead)$' <<<"$states" || [ $SECONDS -gt $deadline ]; then
    echo "wait-healthy: not every service became healthy:" >&2
    echo "$states" >&2
    exit 1
  fi
  sleep 2
done
