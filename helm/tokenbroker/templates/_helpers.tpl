{{/* Names, labels, and the pieces the workloads share. */}}

{{/* The chart name, or nameOverride. */}}
{{- define "tokenbroker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* RELEASE-tokenbroker, or RELEASE when it already contains the name; fullnameOverride wins. */}}
{{- define "tokenbroker.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart-version for the helm.sh/chart label. */}}
{{- define "tokenbroker.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object, without app.kubernetes.io/component. */}}
{{- define "tokenbroker.commonLabels" -}}
helm.sh/chart: {{ include "tokenbroker.chart" . }}
app.kubernetes.io/name: {{ include "tokenbroker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ include "tokenbroker.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tokenbroker
{{- end }}

{{/* Labels of the server's objects. */}}
{{- define "tokenbroker.labels" -}}
{{ include "tokenbroker.commonLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{/* Labels that select the server pods (never change them: selectors are immutable). */}}
{{- define "tokenbroker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tokenbroker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{- define "tokenbroker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tokenbroker.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tokenbroker.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{- define "tokenbroker.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "tokenbroker.imageTag" .) }}
{{- end }}

{{- define "tokenbroker.policyConfigMapName" -}}
{{- default (printf "%s-policy" (include "tokenbroker.fullname" .)) .Values.policy.existingConfigMap }}
{{- end }}

{{/* "true" when a policy file is configured (existing ConfigMap or inline). */}}
{{- define "tokenbroker.hasPolicy" -}}
{{- if or .Values.policy.existingConfigMap (not (empty .Values.policy.inline)) }}true{{ end }}
{{- end }}

{{- define "tokenbroker.extAuthzRoutesConfigMapName" -}}
{{- default (printf "%s-ext-authz-routes" (include "tokenbroker.fullname" .)) .Values.extAuthz.routes.existingConfigMap }}
{{- end }}

{{/* "true" when the ext_authz port is on and has a route table (existing ConfigMap or inline). */}}
{{- define "tokenbroker.hasExtAuthzRoutes" -}}
{{- if and .Values.extAuthz.enabled (or .Values.extAuthz.routes.existingConfigMap (not (empty .Values.extAuthz.routes.inline))) }}true{{ end }}
{{- end }}

{{- define "tokenbroker.mtls" -}}
{{- if and .Values.tls.enabled .Values.tls.clientCA.enabled }}true{{ end }}
{{- end }}

{{- define "tokenbroker.tlsCASecret" -}}
{{- default .Values.tls.existingSecret .Values.tls.ca.existingSecret }}
{{- end }}

{{- define "tokenbroker.clientCASecret" -}}
{{- default (include "tokenbroker.tlsCASecret" .) .Values.tls.clientCA.existingSecret }}
{{- end }}

{{/*
Rules between values that the JSON schema cannot state clearly; each fails rendering with a
message that says what to change. Included by every workload template.
*/}}
{{- define "tokenbroker.validate" -}}
{{- $_ := required "keyring.existingSecret is required: the name of an existing Secret holding the keyring JSON (see the chart README)" .Values.keyring.existingSecret }}
{{- if eq .Values.store.mode "postgres" }}
{{- $_ := required "store.postgres.dsnSecret.name is required in postgres mode: an existing Secret holding the PostgreSQL DSN" .Values.store.postgres.dsnSecret.name }}
{{- end }}
{{- if .Values.tls.enabled }}
{{- $_ := required "tls.existingSecret is required when tls.enabled: an existing kubernetes.io/tls Secret" .Values.tls.existingSecret }}
{{- end }}
{{- if and .Values.tls.clientCA.enabled (not .Values.tls.enabled) }}
{{- fail "tls.clientCA.enabled (mutual TLS) needs tls.enabled: true" }}
{{- end }}
{{- if and .Values.policy.existingConfigMap (not (empty .Values.policy.inline)) }}
{{- fail "policy.existingConfigMap and policy.inline are exclusive: set one" }}
{{- end }}
{{- if not (or (include "tokenbroker.mtls" .) (include "tokenbroker.hasPolicy" .) .Values.auth.allowUnauthenticated) }}
{{- fail "no caller authentication: enable mutual TLS (tls.enabled and tls.clientCA.enabled), or give a policy with caller tokens (policy.existingConfigMap or policy.inline), or set auth.allowUnauthenticated: true to let ANYONE who reaches the port get tokens" }}
{{- end }}
{{- $needed := add .Values.server.shutdownGraceSeconds .Values.server.preStopSleepSeconds }}
{{- if le (int .Values.terminationGracePeriodSeconds) (int $needed) }}
{{- fail (printf "terminationGracePeriodSeconds (%v) must exceed server.preStopSleepSeconds + server.shutdownGraceSeconds (%v), or in-flight calls are killed while draining" .Values.terminationGracePeriodSeconds $needed) }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (empty .Values.networkPolicy.grpcFrom) }}
{{- fail "networkPolicy.grpcFrom is empty: no caller could reach the gRPC port; list the namespaces or pods that call tokenbroker" }}
{{- end }}
{{- if .Values.extAuthz.enabled }}
{{- if and .Values.extAuthz.routes.existingConfigMap (not (empty .Values.extAuthz.routes.inline)) }}
{{- fail "extAuthz.routes.existingConfigMap and extAuthz.routes.inline are exclusive: set one" }}
{{- end }}
{{- if has (int .Values.extAuthz.port) (list (int .Values.server.grpcPort) (int .Values.server.metricsPort)) }}
{{- fail (printf "extAuthz.port (%v) must differ from server.grpcPort and server.metricsPort" .Values.extAuthz.port) }}
{{- end }}
{{- if has (int .Values.extAuthz.servicePort) (list (int .Values.service.port) (int .Values.service.metricsPort)) }}
{{- fail (printf "extAuthz.servicePort (%v) must differ from service.port and service.metricsPort" .Values.extAuthz.servicePort) }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (empty .Values.networkPolicy.extAuthzFrom) }}
{{- fail "networkPolicy.extAuthzFrom is empty: no proxy could reach the ext_authz port; list the Envoy or Istio gateway pods that call it" }}
{{- end }}
{{- end }}
{{- range .Values.server.extraArgs }}
{{- if hasPrefix "--http-listen" . }}
{{- fail "server.extraArgs: the chart does not run the local HTTP token endpoint (--http-listen): it is for a program beside tokenbroker, and this chart's pods have none; beyond loopback it would be a second token API with no Service port or NetworkPolicy rule. Use the gRPC API, or the ext_authz port (extAuthz.enabled) for programs without an SDK; see the chart README" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The store flags, shared by the server and the migration Job. */}}
{{- define "tokenbroker.storeArgs" -}}
{{- if eq .Values.store.mode "sqlite" }}
- --store=sqlite:/data/tokenbroker.db
{{- else }}
- --store=postgres
- --store-dsn-file=/etc/tokenbroker/db/{{ .Values.store.postgres.dsnSecret.key }}
{{- end }}
- --kek-file=/etc/tokenbroker/keyring/keyring.json
{{- end }}

{{/* Volumes of the store and keyring (shared by the server and the migration Job). */}}
{{- define "tokenbroker.storeVolumes" -}}
- name: keyring
  secret:
    secretName: {{ .Values.keyring.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ .Values.keyring.key }}
        path: keyring.json
{{- if eq .Values.store.mode "postgres" }}
- name: db
  secret:
    secretName: {{ .Values.store.postgres.dsnSecret.name }}
    defaultMode: 0440
    items:
      - key: {{ .Values.store.postgres.dsnSecret.key }}
        path: {{ .Values.store.postgres.dsnSecret.key }}
{{- end }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end }}

{{/* Mounts of the store and keyring; directories, never subPath, so Secret updates arrive. */}}
{{- define "tokenbroker.storeMounts" -}}
- name: keyring
  mountPath: /etc/tokenbroker/keyring
  readOnly: true
{{- if eq .Values.store.mode "postgres" }}
- name: db
  mountPath: /etc/tokenbroker/db
  readOnly: true
{{- else }}
- name: data
  mountPath: /data
{{- end }}
- name: tmp
  mountPath: /tmp
{{- end }}

{{/*
tokenctl's transport flags for the readiness probe and the test pod: with TLS, the CA that
issued the server certificate and, with mutual TLS, the server's own certificate as client
certificate; without TLS, --plaintext (tokenctl speaks TLS unless told otherwise).
*/}}
{{- define "tokenbroker.tokenctlTransportArgs" -}}
{{- if .Values.tls.enabled }}
- --ca-file=/etc/tokenbroker/tls-ca/ca.crt
{{- if include "tokenbroker.mtls" . }}
- --cert=/etc/tokenbroker/tls/tls.crt
- --key=/etc/tokenbroker/tls/tls.key
{{- end }}
{{- else }}
- --plaintext
{{- end }}
{{- end }}

{{/* TLS volumes: the server pair, the CA of the server certificate, the client CA. */}}
{{- define "tokenbroker.tlsVolumes" -}}
{{- if .Values.tls.enabled }}
- name: tls
  secret:
    secretName: {{ .Values.tls.existingSecret }}
    defaultMode: 0440
    items:
      - key: tls.crt
        path: tls.crt
      - key: tls.key
        path: tls.key
- name: tls-ca
  secret:
    secretName: {{ include "tokenbroker.tlsCASecret" . }}
    defaultMode: 0444
    items:
      - key: {{ .Values.tls.ca.key }}
        path: ca.crt
{{- if include "tokenbroker.mtls" . }}
- name: client-ca
  secret:
    secretName: {{ include "tokenbroker.clientCASecret" . }}
    defaultMode: 0444
    items:
      - key: {{ .Values.tls.clientCA.key }}
        path: ca.crt
{{- end }}
{{- end }}
{{- end }}

{{- define "tokenbroker.tlsMounts" -}}
{{- if .Values.tls.enabled }}
- name: tls
  mountPath: /etc/tokenbroker/tls
  readOnly: true
- name: tls-ca
  mountPath: /etc/tokenbroker/tls-ca
  readOnly: true
{{- if include "tokenbroker.mtls" . }}
- name: client-ca
  mountPath: /etc/tokenbroker/client-ca
  readOnly: true
{{- end }}
{{- end }}
{{- end }}
