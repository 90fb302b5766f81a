{{/* Name of the objects: the release name, or <release>-pvc-chonker when it does not contain it. */}}
{{- define "pvc-chonker.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Helm's bookkeeping labels; the no-drift test strips exactly these before comparing with cronjob/. */}}
{{- define "pvc-chonker.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "pvc-chonker.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{- define "pvc-chonker.webhookName" -}}
{{- printf "%s-webhook" (include "pvc-chonker.fullname" .) -}}
{{- end -}}

{{/* The webhook pods' labels, selected by the Deployment, PDB, Service and anti-affinity. */}}
{{- define "pvc-chonker.webhookSelectorLabels" -}}
app.kubernetes.io/name: pvc-chonker
app.kubernetes.io/component: webhook
{{- end -}}

{{- define "pvc-chonker.webhookTlsSecret" -}}
{{- .Values.webhook.tls.secretName | default (printf "%s-tls" (include "pvc-chonker.webhookName" .)) -}}
{{- end -}}

{{/*
The run's settings: one PVC_CHONKER_<FLAG> variable per set key of .Values.config (camelCase
flag name -> upper snake case), a list joined by commas. Unset (null or '') keys are left out.
Called with (dict "root" $ "omit" (list "jobName")): the omitted keys are set by the caller.
*/}}
{{- define "pvc-chonker.configEnv" -}}
{{- $omit := .omit | default list }}
{{- with .root }}
{{- range $key, $value := .Values.config }}
{{- if has $key $omit }}
{{- else if kindIs "slice" $value }}
{{- if $value }}
- name: PVC_CHONKER_{{ $key | snakecase | upper }}
  value: {{ join "," $value | quote }}
{{- end }}
{{- else if not (or (kindIs "invalid" $value) (eq (toString $value) "")) }}
- name: PVC_CHONKER_{{ $key | snakecase | upper }}
  value: {{ toString $value | quote }}
{{- end }}
{{- end }}
{{- with .Values.pushgatewayAuth }}
{{- if eq .type "basic" }}
- name: PVC_CHONKER_PUSHGATEWAY_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .usernameKey }}
- name: PVC_CHONKER_PUSHGATEWAY_PASSWORD_FILE
  value: /var/run/secrets/pvc-chonker/pushgateway/{{ .passwordKey }}
{{- else if eq .type "bearer" }}
- name: PVC_CHONKER_PUSHGATEWAY_BEARER_TOKEN_FILE
  value: /var/run/secrets/pvc-chonker/pushgateway/{{ .tokenKey }}
{{- end }}
{{- end }}
{{- include "pvc-chonker.statsEnv" . }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The stats source's settings (.Values.stats): PVC_CHONKER_STATS_SOURCE and its options. */}}
{{- define "pvc-chonker.statsEnv" -}}
{{- with .Values.stats }}
{{- if ne .source "auto" }}
- name: PVC_CHONKER_STATS_SOURCE
  value: {{ .source | quote }}
{{- end }}
{{- if .kubelet.insecureSkipTlsVerify }}
- name: PVC_CHONKER_KUBELET_INSECURE_SKIP_TLS_VERIFY
  value: 'true'
{{- end }}
{{- if .kubelet.caConfigMap }}
- name: PVC_CHONKER_KUBELET_CA_FILE
  value: /var/run/secrets/pvc-chonker/kubelet-ca/{{ .kubelet.caKey }}
{{- end }}
{{- with .prometheus }}
{{- if .url }}
- name: PVC_CHONKER_PROMETHEUS_URL
  value: {{ .url | quote }}
{{- end }}
{{- if .selector }}
- name: PVC_CHONKER_PROMETHEUS_SELECTOR
  value: {{ .selector | quote }}
{{- end }}
{{- if .maxAge }}
- name: PVC_CHONKER_PROMETHEUS_MAX_AGE
  value: {{ .maxAge | quote }}
{{- end }}
{{- if .headers }}
- name: PVC_CHONKER_PROMETHEUS_HEADER
  value: {{ join "\n" .headers | quote }}
{{- end }}
{{- if and .existingSecret .tokenKey }}
- name: PVC_CHONKER_PROMETHEUS_BEARER_TOKEN_FILE
  value: /var/run/secrets/pvc-chonker/prometheus/{{ .tokenKey }}
{{- end }}
{{- if and .existingSecret .caKey }}
- name: PVC_CHONKER_PROMETHEUS_CA_FILE
  value: /var/run/secrets/pvc-chonker/prometheus/{{ .caKey }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
The source the pass really uses: auto is prometheus when a Prometheus URL is set, else kubelet.
It decides the ClusterRole's node rules (templates/rbac.yaml).
*/}}
{{- define "pvc-chonker.statsSource" -}}
{{- if eq .Values.stats.source "auto" -}}
{{- if .Values.stats.prometheus.url }}prometheus{{ else }}kubelet{{ end -}}
{{- else -}}
{{- .Values.stats.source -}}
{{- end -}}
{{- end -}}

{{/* The parts of the pod spec shared by the CronJob, the sharded CronJob and the webhook. */}}
{{- define "pvc-chonker.podScheduling" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "pvc-chonker.podSecurityContext" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{- define "pvc-chonker.containerSecurityContext" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: ['ALL']
{{- end -}}

{{/*
The Pushgateway credentials, the kubelets' CA bundle and the Prometheus credentials as read-only
volumes, when configured.
*/}}
{{- define "pvc-chonker.authVolumeMounts" -}}
{{- if or .Values.pushgatewayAuth.type .Values.stats.kubelet.caConfigMap .Values.stats.prometheus.existingSecret }}
volumeMounts:
{{- if .Values.pushgatewayAuth.type }}
  - name: pushgateway-auth
    mountPath: /var/run/secrets/pvc-chonker/pushgateway
    readOnly: true
{{- end }}
{{- if .Values.stats.kubelet.caConfigMap }}
  - name: kubelet-ca
    mountPath: /var/run/secrets/pvc-chonker/kubelet-ca
    readOnly: true
{{- end }}
{{- if .Values.stats.prometheus.existingSecret }}
  - name: prometheus-auth
    mountPath: /var/run/secrets/pvc-chonker/prometheus
    readOnly: true
{{- end }}
{{- end }}
{{- end -}}

{{- define "pvc-chonker.authVolumes" -}}
{{- if or .Values.pushgatewayAuth.type .Values.stats.kubelet.caConfigMap .Values.stats.prometheus.existingSecret }}
volumes:
{{- if .Values.pushgatewayAuth.type }}
  - name: pushgateway-auth
    secret:
      secretName: {{ .Values.pushgatewayAuth.existingSecret }}
{{- end }}
{{- if .Values.stats.kubelet.caConfigMap }}
  - name: kubelet-ca
    configMap:
      name: {{ .Values.stats.kubelet.caConfigMap }}
{{- end }}
{{- if .Values.stats.prometheus.existingSecret }}
  - name: prometheus-auth
    secret:
      secretName: {{ .Values.stats.prometheus.existingSecret }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "pvc-chonker.podMetadata" -}}
metadata:
  labels:
    app.kubernetes.io/name: pvc-chonker
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
