#!/bin/bash
# The broker of the kafka image: server.properties from the KAFKA_* variables (KAFKA_LOG_DIRS ->
# log.dirs), the log directory formatted once with CLUSTER_ID, then Kafka in the foreground.
# KAFKA_HEAP_OPTS is the JVM's heap, not a broker property.
set -euo pipefail
config=/tmp/server.properties
: > "$config"
while IFS='=' read -r name value; do
  case "$name" in
    KAFKA_HEAP_OPTS) ;;
    KAFKA_*) key=${name#KAFKA_}; key=${key,,}; echo "${key//_/.}=${value}" >> "$config" ;;
  esac
done < <(env)
classpath='/opt/kafka/libs/*'
log_dirs=$(sed -n 's/^log\.dirs=//p' "$config")
if [ ! -f "${log_dirs}/meta.properties" ]; then
  java -cp "$classpath" kafka.tools.StorageTool format --cluster-id "${CLUSTER_ID:?set CLUSTER_ID}" \
    --config "$config" --ignore-formatted
fi
# shellcheck disable=SC2086  # the heap options are several words
exec java ${KAFKA_HEAP_OPTS:--Xmx512m} -cp "$classpath" kafka.Kafka "$config"
