#!/bin/sh
# preStop of the Redis container: a master about to stop (rolling update, drain) hands over first,
# so the services see a planned failover of about a second instead of down-after-milliseconds.
. "${SCRIPTS:-/scripts}/common.sh"
redis-cli -p "$REDIS_PORT" --raw INFO replication 2>/dev/null | grep -q '^role:master' || exit 0
log "master stopping: asking Sentinel for a failover"
redis-cli -p "$(sentinel_port "$ordinal")" SENTINEL FAILOVER "$MASTER_SET" || exit 0
i=0
while [ "$i" -lt 20 ] && redis-cli -p "$REDIS_PORT" --raw INFO replication 2>/dev/null | grep -q '^role:master'; do
  sleep 1; i=$((i + 1))
done
