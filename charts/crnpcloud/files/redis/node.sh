#!/bin/sh
# A Redis data node of the Sentinel topology (container "redis").
# Role: what the Sentinels say. Only on the first install, when no Sentinel knows a master yet, does
# pod 0 start as master; every other start (later pods, restarts, after a failover) asks the
# Sentinels and replicates from the master they name (or is the master, if they name this pod).
. "${SCRIPTS:-/scripts}/common.sh"
marker=$DATA_DIR/.crnp-bootstrapped
while :; do
  master=$(ask_sentinels)
  [ -n "$master" ] && break
  if [ "$ordinal" = 0 ] && [ ! -f "$marker" ]; then
    master="$me $REDIS_PORT"
    log "first install: no Sentinel knows a master of $MASTER_SET; starting as its master"
    break
  fi
  log "waiting for a Sentinel to name the master of $MASTER_SET"
  sleep 2
done
touch "$marker"
wait_dns "$me"
conf=$TMPDIR/redis.conf
{
  echo "port $REDIS_PORT"
  echo "dir $DATA_DIR"
  echo "appendonly yes"
  echo "appendfsync everysec"
  echo "save \"\""
  # values.yaml redis.aofRewriteMinSize: how large the append-only file grows before Redis rewrites it.
  [ -n "${AOF_REWRITE_MIN_SIZE:-}" ] && echo "auto-aof-rewrite-min-size $AOF_REWRITE_MIN_SIZE"
  # The password, for clients (requirepass) and for replication from the master (masterauth).
  printf 'requirepass "%s"\nmasterauth "%s"\n' "$REDIS_PASSWORD" "$REDIS_PASSWORD"
  # Replicas are known to the Sentinels (and so to clients) by stable DNS name, not pod IP.
  echo "replica-announce-ip $me"
  echo "replica-announce-port $REDIS_PORT"
  if [ "$master" != "$me $REDIS_PORT" ]; then
    echo "replicaof $master"
  fi
} > "$conf"
chmod 600 "$conf"
if [ "$master" = "$me $REDIS_PORT" ]; then log "starting as master"; else log "starting as replica of $master"; fi
exec redis-server "$conf"
