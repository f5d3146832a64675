{{/* The install notes, kept in a named template so that the chart tests can render them (helm template does not print NOTES.txt). */}}
{{- define "crnpcloud.notes" -}}
{{- $fullname := include "crnpcloud.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- $svcType := .Values.edge.service.type -}}
{{- /* The allow list in force: the CrnpServer's (live settings) when it sets one, else edge.allowHosts. */ -}}
{{- $allow := regexSplit "[ ,]+" .Values.edge.allowHosts -1 | compact -}}
{{- if and .Values.operator.enabled .Values.operator.server.create (.Values.operator.server.spec | default dict).allowHosts -}}
{{- $allow = .Values.operator.server.spec.allowHosts -}}
{{- end -}}
{{- $onlyLocal := true -}}
{{- range $allow }}{{ if ne (upper .) "LOCAL" }}{{ $onlyLocal = false }}{{ end }}{{ end -}}
CrnpCloud {{ .Chart.AppVersion }} is installed as "{{ .Release.Name }}" in namespace {{ $ns }}.

1. Reach the registration edge (CRNP over TCP/XML, port {{ .Values.edge.port }}):
{{- if eq $svcType "LoadBalancer" }}
     kubectl -n {{ $ns }} get svc {{ $fullname }}-edge -o jsonpath='{.status.loadBalancer.ingress[0]}'
{{- else if eq $svcType "NodePort" }}
     kubectl -n {{ $ns }} get svc {{ $fullname }}-edge -o jsonpath='{.spec.ports[0].nodePort}'
   Clients connect to a node that runs an edge pod.
{{- else }}
     {{ $fullname }}-edge.{{ $ns }}.svc:{{ .Values.edge.port }}  (inside the cluster)
   For clients outside the cluster set edge.service.type=LoadBalancer (or NodePort).
{{- end }}
   Who may register: allow {{ join "," $allow | quote }}, deny {{ .Values.edge.denyHosts | quote }}. LOCAL is the cluster:
   the edge's interfaces, every Node's pod CIDRs and addresses{{ with .Values.edge.serviceCIDR }}, the Service CIDR {{ . }}{{ end }}{{ with .Values.edge.localNetworks }}, {{ . }}{{ end }}.
{{- if ne $svcType "ClusterIP" }}
   Clients outside the cluster: externalTrafficPolicy: Local keeps their source IPs (CRNP identifies a
   client by it). They are not LOCAL: add their CIDRs to edge.allowHosts (e.g. "LOCAL,192.0.2.0/24",
   or to operator.server.spec.allowHosts){{ if eq $svcType "LoadBalancer" }} and to edge.service.loadBalancerSourceRanges{{ end }}.
{{- if $onlyLocal }}

   WARNING: the edge Service is {{ $svcType }} but only LOCAL may register: every client outside the
   cluster is refused (FAIL). Set edge.allowHosts to LOCAL plus the clients' CIDRs.
{{- end }}
   Deliveries reach clients from the delivery pods (pod IP, or a node IP after SNAT), not from the
   edge address: see "Where deliveries come from" in the chart's README.
{{- end }}

2. Register a client declaratively (charts/crnpcloud/examples/crnpclient.yaml):
     kubectl apply -f - <<'YAML'
{{ regexReplaceAll "(?m)^#.*\n" (.Files.Get "examples/crnpclient.yaml") "" | trim | indent 5 }}
     YAML
     kubectl get crnpclients -A        # Registered / Delivering / Backlog
   Server settings: kubectl -n {{ $ns }} edit crnpserver {{ $fullname }}

3. Publish events and administer over gRPC: {{ $fullname }}-ingest.{{ $ns }}.svc:{{ .Values.ingest.port }}
     kubectl -n {{ $ns }} port-forward svc/{{ $fullname }}-ingest {{ .Values.ingest.port }} &
{{- if .Values.ingest.auth.enabled }}
{{- $secret := include "crnpcloud.ingestTokensSecret" . }}
   Every call needs a bearer token (Secret {{ $secret }}). crnpctl reads it from CRNP_TOKEN (or --token).
   The publish token may call crnp.v1.EventIngest only:
     export CRNP_TOKEN=$(kubectl -n {{ $ns }} get secret {{ $secret }} -o jsonpath='{.data.{{ include "crnpcloud.ingestPublishKey" . }}}' | base64 -d)
     crnpctl publish --ingest localhost:{{ .Values.ingest.port }} --class EC_Cluster --subclass ESC_cluster_membership --nv node_list=node1 --nv state_list=1
   The admin token may call everything, crnp.v1.Admin included (a publish token there gets PERMISSION_DENIED):
     export CRNP_TOKEN=$(kubectl -n {{ $ns }} get secret {{ $secret }} -o jsonpath='{.data.{{ include "crnpcloud.ingestAdminKey" . }}}' | base64 -d)
     crnpctl clients --ingest localhost:{{ .Values.ingest.port }}
{{- else }}
   WARNING: ingest.auth.enabled=false: anyone who reaches port {{ .Values.ingest.port }} can publish events and remove clients.
     crnpctl clients --ingest localhost:{{ .Values.ingest.port }}
{{- end }}
{{- if .Values.jaeger.enabled }}

4. Follow an event from publish to every delivery in Jaeger:
     kubectl -n {{ $ns }} port-forward svc/{{ $fullname }}-jaeger 16686
     open http://localhost:16686 and search service crnpcloud-ingest, operation crnp.publish
{{- else if .Values.otlpEndpoint }}

4. Traces go to {{ .Values.otlpEndpoint }} (OTLP).
{{- else }}

4. Tracing is off: set jaeger.enabled=true, or otlpEndpoint to your collector.
{{- end }}
{{- $mode := include "crnpcloud.redisMode" . }}

5. The store: redis.mode={{ $mode }}{{ if kindIs "bool" .Values.redis.enabled }} (from the legacy redis.enabled={{ .Values.redis.enabled }}; use redis.mode){{ end }}.
{{- if eq $mode "standalone" }}
   One Redis ({{ $fullname }}-redis-0): while it restarts, publishes and registrations fail; a node crash
   may lose up to ~1 s of acknowledged writes. For failover: redis.mode=sentinel (charts/README.md).
{{- else if eq $mode "sentinel" }}
   {{ .Values.redis.sentinel.replicas }} Redis pods with a Sentinel each; writes wait for {{ include "crnpcloud.redisMinReplicas" . }} replica(s). Who is master:
     kubectl -n {{ $ns }} exec {{ $fullname }}-redis-0 -c sentinel -- sh -c 'REDISCLI_AUTH=$REDIS_PASSWORD redis-cli -p 26379 SENTINEL get-master-addr-by-name {{ .Values.redis.sentinel.masterSet }}'
{{- else }}
   External: {{ include "crnpcloud.redisUrl" . }}{{ with .Values.redis.existingSecret }} (password from Secret {{ . }}){{ end }}.
{{- end }}
{{- end -}}
