{{/*
A CrnpCloud component's Deployment. Call with a dict:
  root, component, replicas (omit with an HPA), resources, ports (list of {name, port}),
  env (extra env entries, optional), serviceAccount (optional), sysctls (pod sysctls, optional),
  podLabels / podAnnotations (extra pod metadata, optional: on the pods only, never in a selector;
  the chart's own keys win).
*/}}
{{- define "crnpcloud.deployment" -}}
{{- $root := .root -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "crnpcloud.fullname" $root }}-{{ .component }}
  labels:
    {{- include "crnpcloud.labels" (list $root .component) | nindent 4 }}
spec:
  {{- if .replicas }}
  replicas: {{ .replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "crnpcloud.selectorLabels" (list $root .component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- merge (include "crnpcloud.labels" (list $root .component) | fromYaml) (.podLabels | default dict) | toYaml | nindent 8 }}
      annotations:
        {{- merge (include "crnpcloud.podAnnotations" $root | fromYaml) (.podAnnotations | default dict) | toYaml | nindent 8 }}
    spec:
      {{- with .serviceAccount }}
      serviceAccountName: {{ . }}
      automountServiceAccountToken: true
      {{- else }}
      automountServiceAccountToken: false
      {{- end }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- include "crnpcloud.podSecurityContext" 1654 | nindent 8 }}
        {{- with .sysctls }}
        sysctls:
          {{- toYaml . | nindent 10 }}
        {{- end }}
      terminationGracePeriodSeconds: 30
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "crnpcloud.selectorLabels" (list $root .component) | nindent 14 }}
      containers:
        - name: {{ .component }}
          image: {{ include "crnpcloud.image" (list $root .component) }}
          imagePullPolicy: {{ $root.Values.imagePullPolicy }}
          ports:
            {{- range .ports }}
            - name: {{ .name }}
              containerPort: {{ .port }}
              protocol: TCP
            {{- end }}
            - name: management
              containerPort: {{ $root.Values.managementPort }}
              protocol: TCP
          {{- include "crnpcloud.env" $root | nindent 10 }}
            {{- with .env }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          {{- include "crnpcloud.probes" $root | nindent 10 }}
          resources:
            {{- toYaml .resources | nindent 12 }}
          securityContext:
            {{- include "crnpcloud.securityContext" $root | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        {{- include "crnpcloud.tmpVolume" $root | nindent 8 }}
{{- end -}}
