#!/usr/bin/env bash
# Stops the daemons that start.sh started (their pid files are listed in $STARTED_FILE), newest first; a cluster
# that start.sh reused, and any other process, is left alone.
set -uo pipefail
STARTED_FILE=${STARTED_FILE:-/run/ealstm-slurm-local.started}
[ -e "$STARTED_FILE" ] || { echo "slurm-local: nothing to stop (no $STARTED_FILE)"; exit 0; }
tac "$STARTED_FILE" | while read -r pidfile; do
  [ -s "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    echo "slurm-local: stopped pid $pid ($pidfile)"
  fi
done
rm -f "$STARTED_FILE"
