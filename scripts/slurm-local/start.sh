#!/usr/bin/env bash
# Starts a one-node Slurm cluster on this machine, as root and without systemd (munged, slurmctld, slurmd), for
# `ealstm study run --executor slurm`. A cluster that already answers (`scontrol ping`) is reused, not started
# again. The pid files of the daemons this script started are listed in $STARTED_FILE, which stop.sh reads, so
# stop.sh ends only what this script started. Needs Debian's slurmctld slurmd slurm-client munge.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
STARTED_FILE=${STARTED_FILE:-/run/ealstm-slurm-local.started}
CONF=/etc/slurm/slurm.conf
MARKER='# ealstm scripts/slurm-local'

if [ "$(id -u)" -ne 0 ]; then echo "slurm-local: run as root (the daemons run as root and munge)" >&2; exit 1; fi
for tool in munged slurmctld slurmd sbatch scontrol; do
  command -v "$tool" >/dev/null || { echo "slurm-local: $tool is missing: apt-get install slurmctld slurmd slurm-client munge" >&2; exit 1; }
done

if scontrol ping 2>/dev/null | grep -q 'is UP' && sinfo -h -o '%t' 2>/dev/null | grep -Eq '^(idle|mix|alloc)'; then
  echo "slurm-local: a Slurm cluster is already running; reusing it"
  exit 0
fi

started=()
# munge: its key is made once (never replaced), the daemon started unless one answers.
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
fi
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
if ! munge -n >/dev/null 2>&1; then
  runuser -u munge -- munged
  started+=(/run/munge/munged.pid)
fi

# slurm.conf: written from the template; one that this script did not write is left alone.
if [ -e "$CONF" ] && ! head -1 "$CONF" | grep -qF "$MARKER"; then
  echo "slurm-local: $CONF exists and was not written by this script; not touching it" >&2
  exit 1
fi
host=$(hostname)
cpus=$(nproc)
memory_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
sed -e "s/@HOST@/$host/g" -e "s/@CPUS@/$cpus/g" -e "s/@MEMORY_MB@/$memory_mb/g" "$HERE/slurm.conf.template" > "$CONF.tmp"
mv "$CONF.tmp" "$CONF"

if ! scontrol ping 2>/dev/null | grep -q 'is UP'; then
  slurmctld
  started+=(/run/slurmctld.pid)
fi
slurmd
started+=(/run/slurmd.pid)
printf '%s\n' "${started[@]}" >> "$STARTED_FILE"

# Wait until the node takes jobs.
for _ in $(seq 1 30); do
  if sinfo -h -o '%t' 2>/dev/null | grep -Eq '^(idle|mix|alloc)'; then
    echo "slurm-local: cluster up: node $host, $cpus CPUs, ${memory_mb} MB (sinfo below)"
    sinfo
    exit 0
  fi
  sleep 1
done
echo "slurm-local: the node did not come up; see /var/log/slurm/slurmctld.log and slurmd.log" >&2
exit 1
