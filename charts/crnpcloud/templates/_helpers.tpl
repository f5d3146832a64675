{{/* Chart name, truncated to 63 characters. */}}
{{- define "crnpcloud.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped base name of every object. */}}
{{- define "crnpcloud.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Selector labels of one component: stable, never the chart version. Call with (list $ "edge"). */}}
{{- define "crnpcloud.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "crnpcloud.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* Full labels of one component. Call with (list $ "edge"). */}}
{{- define "crnpcloud.labels" -}}
{{ include "crnpcloud.selectorLabels" . }}
{{- $root := index . 0 }}
app.kubernetes.io/part-of: crnpcloud
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Image of a CrnpCloud component. Call with (list $ "edge"). */}}
{{- define "crnpcloud.image" -}}
{{- $root := index . 0 -}}
{{- $image := index $root.Values.images (index . 1) -}}
{{- printf "%s:%s" $image.repository (default $root.Chart.AppVersion $image.tag) -}}
{{- end -}}

{{- define "crnpcloud.redisHost" -}}
{{ include "crnpcloud.fullname" . }}-redis
{{- end -}}

{{/*
The store topology: standalone, sentinel or external. redis.mode decides; the legacy redis.enabled
(no longer in values.yaml) still works: false = external (redis.url), true = a bundled Redis.
*/}}
{{- define "crnpcloud.redisMode" -}}
{{- $mode := .Values.redis.mode | default "standalone" -}}
{{- if kindIs "bool" .Values.redis.enabled -}}
{{- if not .Values.redis.enabled -}}
{{- if eq $mode "sentinel" -}}{{- fail "redis.enabled=false (legacy: an external Redis) contradicts redis.mode=sentinel; drop redis.enabled" -}}{{- end -}}
{{- $mode = "external" -}}
{{- else if eq $mode "external" -}}
{{- fail "redis.enabled=true (legacy: a bundled Redis) contradicts redis.mode=external; drop redis.enabled" -}}
{{- end -}}
{{- end -}}
{{- $mode -}}
{{- end -}}

{{/* Headless Service of the Sentinel topology; every pod is <statefulset>-N.<this>. */}}
{{- define "crnpcloud.redisHeadless" -}}
{{ include "crnpcloud.fullname" . }}-redis-headless
{{- end -}}

{{/* The DNS suffix of the Sentinel pods: <headless>.<namespace>.svc.<clusterDomain>. */}}
{{- define "crnpcloud.redisDomain" -}}
{{ include "crnpcloud.redisHeadless" . }}.{{ .Release.Namespace }}.svc.{{ .Values.redis.sentinel.clusterDomain }}
{{- end -}}

{{/* The Secret holding the Redis password: redis.existingSecret, or (sentinel mode) the chart's own. */}}
{{- define "crnpcloud.redisSecret" -}}
{{- .Values.redis.existingSecret | default (printf "%s-redis-auth" (include "crnpcloud.fullname" .)) -}}
{{- end -}}

{{- define "crnpcloud.redisSecretKey" -}}
{{- if .Values.redis.existingSecret -}}{{ .Values.redis.existingSecretKey }}{{- else -}}password{{- end -}}
{{- end -}}

{{/*
An external redis+sentinel:// URL in StackExchange.Redis's Sentinel form:
redis+sentinel://h1:26379,h2:26379/SERVICE[/DB] -> h1:26379,h2:26379,serviceName=SERVICE[,defaultDatabase=DB].
A password in the URL is refused: it would sit in the ConfigMap (use existingSecret).
*/}}
{{- define "crnpcloud.sentinelUrl" -}}
{{- $rest := trimPrefix "redis+sentinel://" . -}}
{{- if contains "@" $rest -}}{{- fail "redis.external.address: no password in a redis+sentinel:// URL (it would be stored in the ConfigMap); put it in redis.existingSecret" -}}{{- end -}}
{{- $parts := splitList "/" $rest -}}
{{- if or (lt (len $parts) 2) (not (index $parts 1)) -}}{{- fail "redis.external.address: a redis+sentinel:// URL needs the service name: redis+sentinel://HOST:26379[,HOST:26379]/SERVICE" -}}{{- end -}}
{{- index $parts 0 }},serviceName={{ index $parts 1 }}
{{- if and (gt (len $parts) 2) (index $parts 2) }},defaultDatabase={{ index $parts 2 }}{{ end -}}
{{- end -}}

{{/* The store connection every component uses. */}}
{{- define "crnpcloud.redisUrl" -}}
{{- $mode := include "crnpcloud.redisMode" . -}}
{{- if eq $mode "standalone" -}}
{{ include "crnpcloud.redisHost" . }}:6379
{{- else if eq $mode "sentinel" -}}
{{- $root := . -}}
{{- $hosts := list -}}
{{- range $i := until (int .Values.redis.sentinel.replicas) -}}
{{- $hosts = append $hosts (printf "%s-%d.%s:26379" (include "crnpcloud.redisHost" $root) $i (include "crnpcloud.redisDomain" $root)) -}}
{{- end -}}
{{ join "," $hosts }},serviceName={{ .Values.redis.sentinel.masterSet }}
{{- else -}}
{{- $address := .Values.redis.external.address -}}
{{- if hasPrefix "redis+sentinel://" $address -}}
{{ include "crnpcloud.sentinelUrl" $address }}
{{- else if $address -}}
{{ $address }}{{ with .Values.redis.external.sentinelServiceName }},serviceName={{ . }}{{ end }}
{{- else -}}
{{ required "redis.mode=external (or the legacy redis.enabled=false) needs redis.external.address or redis.url" .Values.redis.url }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Crnp:Store:MinReplicas: redis.minReplicas, or by mode: 1 with sentinel, 0 otherwise. */}}
{{- define "crnpcloud.redisMinReplicas" -}}
{{- $mode := include "crnpcloud.redisMode" . -}}
{{- $min := .Values.redis.minReplicas -}}
{{- if kindIs "invalid" $min -}}{{- $min = ternary 1 0 (eq $mode "sentinel") -}}{{- end -}}
{{- $min = int $min -}}
{{- if and (eq $mode "standalone") (gt $min 0) -}}
{{- fail "redis.minReplicas > 0 needs replicas: a standalone Redis has none (redis.mode=sentinel)" -}}
{{- end -}}
{{- if and (eq $mode "sentinel") (ge $min (int .Values.redis.sentinel.replicas)) -}}
{{- fail (printf "redis.minReplicas must be below redis.sentinel.replicas (%d): a master has at most %d replicas" (int .Values.redis.sentinel.replicas) (sub (int .Values.redis.sentinel.replicas) 1)) -}}
{{- end -}}
{{- $min -}}
{{- end -}}

{{- define "crnpcloud.otlpEndpoint" -}}
{{- if .Values.jaeger.enabled -}}
http://{{ include "crnpcloud.fullname" . }}-jaeger:4317
{{- else -}}
{{ .Values.otlpEndpoint }}
{{- end -}}
{{- end -}}

{{/* Pod-level security: non-root, RuntimeDefault seccomp. */}}
{{- define "crnpcloud.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . | default 1654 }}
runAsGroup: {{ . | default 1654 }}
fsGroup: {{ . | default 1654 }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container-level security: the restricted Pod Security Standard. */}}
{{- define "crnpcloud.securityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Probes on the management port of a CrnpCloud component. */}}
{{- define "crnpcloud.probes" -}}
startupProbe:
  httpGet: { path: /healthz, port: management }
  periodSeconds: 2
  failureThreshold: 30
livenessProbe:
  httpGet: { path: /healthz, port: management }
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet: { path: /readyz, port: management }
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 2
{{- end -}}

{{/* Environment shared by every CrnpCloud component: settings from the ConfigMap, secrets by reference. */}}
{{- define "crnpcloud.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "crnpcloud.fullname" . }}-config
env:
  - name: POD_NAME
    valueFrom: { fieldRef: { fieldPath: metadata.name } }
  - name: POD_NAMESPACE
    valueFrom: { fieldRef: { fieldPath: metadata.namespace } }
  {{- $mode := include "crnpcloud.redisMode" . }}
  {{- if or (eq $mode "sentinel") (and (eq $mode "external") .Values.redis.existingSecret) }}
  - name: Crnp__Store__Password
    valueFrom:
      secretKeyRef: { name: {{ include "crnpcloud.redisSecret" . }}, key: {{ include "crnpcloud.redisSecretKey" . }} }
  {{- end }}
{{- end -}}

{{/* Pod annotations that roll the pods when the settings change. */}}
{{- define "crnpcloud.podAnnotations" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- end -}}

{{/* A writable /tmp for the .NET runtime under a read-only root filesystem. */}}
{{- define "crnpcloud.tmpVolume" -}}
- name: tmp
  emptyDir: { sizeLimit: 64Mi }
{{- end -}}

{{/* The Secret holding the ingest's bearer tokens: the user's existing one, or the chart's own. */}}
{{- define "crnpcloud.ingestTokensSecret" -}}
{{- .Values.ingest.auth.existingSecret | default (printf "%s-ingest-tokens" (include "crnpcloud.fullname" .)) -}}
{{- end -}}

{{/* Key of the publish token (may call crnp.v1.EventIngest only) in that Secret. */}}
{{- define "crnpcloud.ingestPublishKey" -}}
{{- if .Values.ingest.auth.existingSecret -}}{{ .Values.ingest.auth.publishKey }}{{- else -}}publish{{- end -}}
{{- end -}}

{{/* Key of the admin token (may call every service, crnp.v1.Admin included) in that Secret. */}}
{{- define "crnpcloud.ingestAdminKey" -}}
{{- if .Values.ingest.auth.existingSecret -}}{{ .Values.ingest.auth.adminKey }}{{- else -}}admin{{- end -}}
{{- end -}}

{{/* An env entry taking its value from a key of the ingest tokens Secret. Call with (list $ "ENV_NAME" "key"). */}}
{{- define "crnpcloud.tokenEnv" -}}
{{- $root := index . 0 -}}
{{- dict "name" (index . 1) "valueFrom" (dict "secretKeyRef" (dict "name" (include "crnpcloud.ingestTokensSecret" $root) "key" (index . 2))) | toJson -}}
{{- end -}}

{{/*
The Jaeger v2 configuration (OpenTelemetry Collector layout): OTLP receivers, a batch processor, the
jaeger_storage_exporter into a bounded memory store, the jaeger_query UI, and the healthcheckv2
extension the probes ask. Every endpoint listens on all addresses of the pod (Jaeger's own defaults
are localhost for some of them).
*/}}
{{- define "crnpcloud.jaegerConfig" -}}
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    logs:
      level: info
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 0.0.0.0:13133
      status:
        enabled: true
        path: /status
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: {{ int .Values.jaeger.maxTraces }}
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 0.0.0.0:16686
    grpc:
      endpoint: 0.0.0.0:16685
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
      http:
        endpoint: 0.0.0.0:4318
processors:
  batch: {}
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
{{- end -}}

{{/* Environment of both containers of a Sentinel-mode Redis pod (files/redis/common.sh reads it). */}}
{{- define "crnpcloud.redisPodEnv" -}}
- name: POD_NAME
  valueFrom: { fieldRef: { fieldPath: metadata.name } }
- { name: DOMAIN, value: {{ include "crnpcloud.redisDomain" . | quote }} }
- { name: REPLICAS, value: {{ .Values.redis.sentinel.replicas | quote }} }
- { name: MASTER_SET, value: {{ .Values.redis.sentinel.masterSet | quote }} }
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ include "crnpcloud.redisSecret" . }}, key: {{ include "crnpcloud.redisSecretKey" . }} }
- name: REDISCLI_AUTH
  valueFrom:
    secretKeyRef: { name: {{ include "crnpcloud.redisSecret" . }}, key: {{ include "crnpcloud.redisSecretKey" . }} }
{{- end -}}
