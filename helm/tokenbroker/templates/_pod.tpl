{{/* The server pod template, shared by the Deployment (PostgreSQL) and the StatefulSet (SQLite). */}}
{{- define "tokenbroker.podTemplate" -}}
metadata:
  labels:
    {{- include "tokenbroker.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- $inlineRoutes := and .Values.extAuthz.enabled (not (empty .Values.extAuthz.routes.inline)) }}
  {{- if or (not (empty .Values.policy.inline)) $inlineRoutes .Values.podAnnotations }}
  annotations:
    {{- if not (empty .Values.policy.inline) }}
    # Rolls the pods when the inline policy changes.
    checksum/policy: {{ include (print $.Template.BasePath "/configmap-policy.yaml") . | sha256sum }}
    {{- end }}
    {{- if $inlineRoutes }}
    # Rolls the pods when the inline ext_authz route table changes.
    checksum/ext-authz-routes: {{ include (print $.Template.BasePath "/configmap-ext-authz-routes.yaml") . | sha256sum }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
spec:
  serviceAccountName: {{ include "tokenbroker.serviceAccountName" . }}
  automountServiceAccountToken: false
  # No TOKENBROKER_SERVICE_HOST-style variables: the server reads TOKENBROKER_* as flags.
  enableServiceLinks: false
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: tokenbroker
      image: {{ include "tokenbroker.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - --listen=0.0.0.0:{{ .Values.server.grpcPort }}
        - --metrics-listen=0.0.0.0:{{ .Values.server.metricsPort }}
        {{- if .Values.extAuthz.enabled }}
        - --ext-authz-listen=0.0.0.0:{{ .Values.extAuthz.port }}
        {{- end }}
        {{- if include "tokenbroker.hasExtAuthzRoutes" . }}
        - --ext-authz-routes=/etc/tokenbroker/ext-authz/routes.json
        {{- end }}
        {{- include "tokenbroker.storeArgs" . | nindent 8 }}
        {{- if .Values.tls.enabled }}
        - --tls-cert=/etc/tokenbroker/tls/tls.crt
        - --tls-key=/etc/tokenbroker/tls/tls.key
        {{- end }}
        {{- if include "tokenbroker.mtls" . }}
        - --client-ca-file=/etc/tokenbroker/client-ca/ca.crt
        {{- end }}
        {{- if include "tokenbroker.hasPolicy" . }}
        - --policy-file=/etc/tokenbroker/policy/policy.json
        {{- end }}
        {{- if .Values.auth.allowUnauthenticated }}
        - --allow-unauthenticated-non-loopback
        {{- end }}
        {{- if .Values.audit.enabled }}
        - --audit-log=-
        - --audit-failure-mode={{ .Values.audit.failureMode }}
        {{- end }}
        {{- if .Values.audit.keySecret.name }}
        - --audit-key-file=/etc/tokenbroker/audit/audit.key
        {{- end }}
        - --ims-url={{ .Values.ims.url }}
        {{- if .Values.ims.caBundle.existingConfigMap }}
        - --ims-ca-file=/etc/tokenbroker/ims-ca/ca.crt
        {{- end }}
        - --shutdown-grace={{ .Values.server.shutdownGraceSeconds }}s
        - --log-level={{ .Values.server.logLevel }}
        {{- with .Values.server.extraArgs }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      env:
        # Names this replica in logs, metrics and store leases.
        - name: TOKENBROKER_REPLICA_ID
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        {{- with .Values.server.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: grpc
          containerPort: {{ .Values.server.grpcPort }}
          protocol: TCP
        - name: metrics
          containerPort: {{ .Values.server.metricsPort }}
          protocol: TCP
        {{- if .Values.extAuthz.enabled }}
        - name: grpc-ext-authz
          containerPort: {{ .Values.extAuthz.port }}
          protocol: TCP
        {{- end }}
      {{- if .Values.tls.enabled }}
      # Native gRPC probes cannot speak TLS: start-up and liveness are TCP connects to the gRPC
      # port (the process is up and accepting), readiness asks the health service "readiness"
      # over TLS with tokenctl, verifying the server against the CA.
      startupProbe:
        tcpSocket:
          port: grpc
        {{- toYaml .Values.probes.startup | nindent 8 }}
      livenessProbe:
        tcpSocket:
          port: grpc
        {{- toYaml .Values.probes.liveness | nindent 8 }}
      readinessProbe:
        exec:
          command:
            - /usr/local/bin/tokenctl
            - --server={{ .Values.tls.probeServerName }}:{{ .Values.server.grpcPort }}
            {{- include "tokenbroker.tokenctlTransportArgs" . | nindent 12 }}
            - --timeout={{ .Values.probes.readiness.timeoutSeconds }}s
            - health
        {{- toYaml .Values.probes.readiness | nindent 8 }}
      {{- else }}
      startupProbe:
        grpc:
          port: {{ .Values.server.grpcPort }}
          service: liveness
        {{- toYaml .Values.probes.startup | nindent 8 }}
      livenessProbe:
        grpc:
          port: {{ .Values.server.grpcPort }}
          service: liveness
        {{- toYaml .Values.probes.liveness | nindent 8 }}
      readinessProbe:
        grpc:
          port: {{ .Values.server.grpcPort }}
          service: readiness
        {{- toYaml .Values.probes.readiness | nindent 8 }}
      {{- end }}
      {{- if gt (int .Values.server.preStopSleepSeconds) 0 }}
      lifecycle:
        preStop:
          sleep:
            seconds: {{ .Values.server.preStopSleepSeconds }}
      {{- end }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        {{- include "tokenbroker.storeMounts" . | nindent 8 }}
        {{- include "tokenbroker.tlsMounts" . | nindent 8 }}
        {{- if include "tokenbroker.hasPolicy" . }}
        - name: policy
          mountPath: /etc/tokenbroker/policy
          readOnly: true
        {{- end }}
        {{- if include "tokenbroker.hasExtAuthzRoutes" . }}
        - name: ext-authz-routes
          mountPath: /etc/tokenbroker/ext-authz
          readOnly: true
        {{- end }}
        {{- if .Values.audit.keySecret.name }}
        - name: audit-key
          mountPath: /etc/tokenbroker/audit
          readOnly: true
        {{- end }}
        {{- if .Values.ims.caBundle.existingConfigMap }}
        - name: ims-ca
          mountPath: /etc/tokenbroker/ims-ca
          readOnly: true
        {{- end }}
  volumes:
    {{- include "tokenbroker.storeVolumes" . | nindent 4 }}
    {{- include "tokenbroker.tlsVolumes" . | nindent 4 }}
    {{- if include "tokenbroker.hasPolicy" . }}
    - name: policy
      configMap:
        name: {{ include "tokenbroker.policyConfigMapName" . }}
        items:
          - key: {{ .Values.policy.key }}
            path: policy.json
    {{- end }}
    {{- if include "tokenbroker.hasExtAuthzRoutes" . }}
    # A directory mount (never subPath): the kubelet replaces the file when the ConfigMap
    # changes, and the server re-reads it.
    - name: ext-authz-routes
      configMap:
        name: {{ include "tokenbroker.extAuthzRoutesConfigMapName" . }}
        items:
          - key: {{ .Values.extAuthz.routes.key }}
            path: routes.json
    {{- end }}
    {{- if .Values.audit.keySecret.name }}
    - name: audit-key
      secret:
        secretName: {{ .Values.audit.keySecret.name }}
        defaultMode: 0440
        items:
          - key: {{ .Values.audit.keySecret.key }}
            path: audit.key
    {{- end }}
    {{- if .Values.ims.caBundle.existingConfigMap }}
    - name: ims-ca
      configMap:
        name: {{ .Values.ims.caBundle.existingConfigMap }}
        items:
          - key: {{ .Values.ims.caBundle.key }}
            path: ca.crt
    {{- end }}
  {{- if .Values.affinity }}
  affinity:
    {{- toYaml .Values.affinity | nindent 4 }}
  {{- else if and (eq .Values.store.mode "postgres") (ne .Values.podAntiAffinity "none") }}
  affinity:
    podAntiAffinity:
      {{- if eq .Values.podAntiAffinity "hard" }}
      requiredDuringSchedulingIgnoredDuringExecution:
        - topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "tokenbroker.selectorLabels" . | nindent 14 }}
      {{- else }}
      preferredDuringSchedulingIgnoredDuringExecution:
        - weight: 100
          podAffinityTerm:
            topologyKey: kubernetes.io/hostname
            labelSelector:
              matchLabels:
                {{- include "tokenbroker.selectorLabels" . | nindent 16 }}
      {{- end }}
  {{- end }}
  {{- if .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml .Values.topologySpreadConstraints | nindent 4 }}
  {{- else if and (eq .Values.store.mode "postgres") .Values.topologySpread.enabled }}
  topologySpreadConstraints:
    - topologyKey: {{ .Values.topologySpread.topologyKey }}
      maxSkew: {{ .Values.topologySpread.maxSkew }}
      whenUnsatisfiable: {{ .Values.topologySpread.whenUnsatisfiable }}
      labelSelector:
        matchLabels:
          {{- include "tokenbroker.selectorLabels" . | nindent 10 }}
      matchLabelKeys:
        - pod-template-hash
  {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
