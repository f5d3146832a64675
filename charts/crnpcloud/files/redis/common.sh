# Shared by node.sh, sentinel.sh and prestop.sh (sourced). Environment, from the StatefulSet:
#   POD_NAME, DOMAIN (the pods' DNS suffix), REPLICAS, MASTER_SET, REDIS_PASSWORD.
# Ports are Redis's and Sentinel's defaults, paths the containers'; REDIS_PORT, SENTINEL_PORT(_N),
# DATA_DIR and TMPDIR exist for the test that runs the pods as processes on one host.
set -eu
: "${POD_NAME:?}" "${DOMAIN:?}" "${REPLICAS:?}" "${MASTER_SET:?}" "${REDIS_PASSWORD:?}"
REDIS_PORT=${REDIS_PORT:-6379}
DATA_DIR=${DATA_DIR:-/data}
TMPDIR=${TMPDIR:-/tmp}
SENTINEL_PORT=${SENTINEL_PORT:-26379}
export REDISCLI_AUTH="$REDIS_PASSWORD"      # redis-cli's password, never on a command line
ordinal=${POD_NAME##*-}
base=${POD_NAME%-*}
me="$POD_NAME.$DOMAIN"

log() { echo "$(date -u +%H:%M:%S) $POD_NAME: $*"; }

# The port of pod N's Sentinel (tests on one host give each pod its own ports).
sentinel_port() { eval "echo \${SENTINEL_PORT_$1:-$SENTINEL_PORT}"; }

# The master ("host port") the reachable Sentinels name; when they disagree (mid-failover), the
# answer most of them give. Empty when none answers.
ask_sentinels() {
  i=0
  while [ "$i" -lt "$REPLICAS" ]; do
    timeout 3 redis-cli -h "$base-$i.$DOMAIN" -p "$(sentinel_port "$i")" --raw \
      SENTINEL get-master-addr-by-name "$MASTER_SET" 2>/dev/null | paste -sd' ' - || true
    i=$((i + 1))
  done | grep -E '^[^ ]+ [0-9]+$' | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2, $3 }'
}

# Waits until NAME resolves (the headless Service publishes pods before they are ready).
wait_dns() {
  until getent hosts "$1" >/dev/null 2>&1; do log "waiting for DNS of $1"; sleep 1; done
}
