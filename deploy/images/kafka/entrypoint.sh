#!/usr/bin/env bash
# Start one KRaft node from KAFKA_* variables, the apache/kafka image's convention: KAFKA_FOO_BAR
# sets foo.bar ("__" stands for "_", "___" for "-"). KAFKA_CLUSTER_ID (required) formats the log
# directory on first start; KAFKA_HEAP_OPTS sizes the JVM. log.dirs defaults to the volume.
set -euo pipefail
: "${KAFKA_CLUSTER_ID:?set KAFKA_CLUSTER_ID: the same 22-character base64 id on every node}"
config=/var/lib/kafka/server.properties
{
  echo "log.dirs=/var/lib/kafka/data"
  while IFS='=' read -r name value; do
    case "$name" in
      KAFKA_CLUSTER_ID | KAFKA_HEAP_OPTS | KAFKA_JVM_OPTS) continue ;;
    esac
    key=${name#KAFKA_}
    key=$(printf '%s' "$key" | tr '[:upper:]' '[:lower:]' | sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g')
    echo "$key=$value"
  done < <(env | grep -E '^KAFKA_[A-Z0-9_]+=' | sort)
} > "$config"
java_cmd=(java ${KAFKA_HEAP_OPTS} ${KAFKA_JVM_OPTS:-} -XX:+UseG1GC -Djava.awt.headless=true
  -Dlog4j2.configurationFile=/opt/kafka/log4j2.properties -cp '/opt/kafka/libs/*')
"${java_cmd[@]}" kafka.tools.StorageTool format -t "$KAFKA_CLUSTER_ID" -c "$config" --ignore-formatted
exec "${java_cmd[@]}" kafka.Kafka "$config"
