#!/bin/sh
# The Sentinel of one pod (container "sentinel"). Its configuration is written on every start from:
# the master the other Sentinels name; else the master in this Sentinel's last configuration (on
# the data volume: Sentinel rewrites it after each failover, so a restart of every pod finds the
# last master); else, on the first install only, pod 0.
. "${SCRIPTS:-/scripts}/common.sh"
dir=$DATA_DIR/sentinel
conf="$dir/sentinel.conf"
mkdir -p "$dir"
while :; do
  master=$(ask_sentinels)
  [ -n "$master" ] && break
  if [ -f "$conf" ]; then
    master=$(awk -v set="$MASTER_SET" '$1 == "sentinel" && $2 == "monitor" && $3 == set { print $4, $5 }' "$conf")
    [ -n "$master" ] && { log "no Sentinel answers; the last known master is $master"; break; }
  fi
  if [ "$ordinal" = 0 ] && [ ! -f "$conf" ]; then
    master="$me $REDIS_PORT"
    log "first install: monitoring this pod's Redis as master"
    break
  fi
  log "waiting for a Sentinel to name the master of $MASTER_SET"
  sleep 2
done
wait_dns "$me"
wait_dns "${master% *}"
port=$(sentinel_port "$ordinal")
# A stable id per pod: a restarted Sentinel is the same Sentinel to the others, not a new one.
myid=$(printf '%s' "$POD_NAME" | sha1sum | cut -c1-40)
{
  echo "port $port"
  echo "dir $dir"
  echo "sentinel myid $myid"
  # Names, not IPs: pod IPs change on every restart; these DNS names (headless Service) do not.
  echo "sentinel resolve-hostnames yes"
  echo "sentinel announce-hostnames yes"
  echo "sentinel announce-ip $me"
  echo "sentinel announce-port $port"
  # Clients, and the other Sentinels, authenticate to this one with the same password.
  printf 'requirepass "%s"\nsentinel sentinel-pass "%s"\n' "$REDIS_PASSWORD" "$REDIS_PASSWORD"
  echo "sentinel monitor $MASTER_SET $master ${QUORUM:-2}"
  printf 'sentinel auth-pass %s "%s"\n' "$MASTER_SET" "$REDIS_PASSWORD"
  echo "sentinel down-after-milliseconds $MASTER_SET ${DOWN_AFTER_MILLISECONDS:-5000}"
  echo "sentinel failover-timeout $MASTER_SET ${FAILOVER_TIMEOUT:-60000}"
  echo "sentinel parallel-syncs $MASTER_SET 1"
} > "$conf.new"
chmod 600 "$conf.new"
mv "$conf.new" "$conf"
log "monitoring $MASTER_SET at $master"
exec redis-server "$conf" --sentinel
