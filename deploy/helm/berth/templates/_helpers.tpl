{{/* Names and labels shared by every template. */}}
{{- define "berth.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}{{ .Release.Name | trunc 50 | trimSuffix "-" }}{{ else }}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" }}{{ end }}
{{- end }}

{{- define "berth.labels" -}}
app.kubernetes.io/name: berth
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "berth.selector" -}}
app.kubernetes.io/name: berth
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* A Secret's value made once: the stored one when the Secret exists, else a new random one. */}}
{{- define "berth.keptValue" -}}
{{- $secret := lookup "v1" "Secret" .namespace .name -}}
{{- if and $secret (index ($secret.data | default dict) .key) -}}
{{ index $secret.data .key }}
{{- else -}}
{{ .fresh | b64enc }}
{{- end -}}
{{- end }}

{{- define "berth.meshSecret" -}}{{ .Values.nats.existingSecret | default (printf "%s-mesh" (include "berth.fullname" .)) }}{{- end }}
{{- define "berth.adminKeySecret" -}}{{ .Values.adminKey.existingSecret | default (printf "%s-admin-key" (include "berth.fullname" .)) }}{{- end }}
{{- define "berth.secretsKeySecret" -}}{{ .Values.secretsKey.existingSecret | default (printf "%s-secrets-key" (include "berth.fullname" .)) }}{{- end }}
{{- define "berth.mongoSecret" -}}{{ .Values.mongodb.existingSecret | default (printf "%s-mongo" (include "berth.fullname" .)) }}{{- end }}
{{- define "berth.usesMongo" -}}{{ if or .Values.mongodb.uri .Values.mongodb.existingSecret .Values.mongodb.bundled }}true{{ end }}{{- end }}
{{- define "berth.writerRole" -}}{{ include "berth.fullname" . }}-tenant-writer{{- end }}
