{{/* Chart name, shortened to the 63 characters a label value allows. */}}
{{- define "ghillie.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's objects: the release name, followed by the chart
name unless the release name contains it already.
*/}}
{{- define "ghillie.fullname" -}}
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

{{- define "ghillie.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "ghillie.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of one component; call with (dict "root" $ "component" "server"). */}}
{{- define "ghillie.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ghillie.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "ghillie.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ghillie.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "ghillie.secretName" -}}
{{- if .Values.secrets.create }}
{{- include "ghillie.fullname" . }}
{{- else }}
{{- default (include "ghillie.fullname" .) .Values.secrets.existingSecret }}
{{- end }}
{{- end }}

{{/*
"true" when worker.enabled and the profile call for a worker deployment:
every profile but api-only, which needs worker.inApiOnlyProfile.
*/}}
{{- define "ghillie.workerEnabled" -}}
{{- if and .Values.worker.enabled (or (ne .Values.profile "api-only") .Values.worker.inApiOnlyProfile) }}true{{ end }}
{{- end }}

{{/* One environment variable read from the Secret; call with (list $ "NAME" "keyField"). */}}
{{- define "ghillie.secretEnv" -}}
{{- $root := index . 0 -}}
- name: {{ index . 1 }}
  valueFrom:
    secretKeyRef:
      name: {{ include "ghillie.secretName" $root }}
      key: {{ index $root.Values.secrets.keys (index . 2) }}
{{- end }}

{{/*
Pod security context of every pod. The numeric user is the nonroot user
of the distroless runtime image.
*/}}
{{- define "ghillie.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "ghillie.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Volumes the root filesystem, which is read-only, cannot provide. */}}
{{- define "ghillie.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- if .Values.reporting.sinkPath }}
- name: reports
  {{- if .Values.reporting.existingClaim }}
  persistentVolumeClaim:
    claimName: {{ .Values.reporting.existingClaim }}
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- end }}
{{- end }}

{{- define "ghillie.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.reporting.sinkPath }}
- name: reports
  mountPath: {{ .Values.reporting.sinkPath }}
{{- end }}
{{- end }}

{{/* Checks of value combinations that values.schema.json cannot express. */}}
{{- define "ghillie.validate" -}}
{{- if and .Values.secrets.create .Values.secrets.existingSecret }}
{{- fail "secrets.create and secrets.existingSecret are both set: set one of them" }}
{{- end }}
{{- if and .Values.secrets.create (not .Values.secrets.values.databaseURL) }}
{{- fail "secrets.create is true but secrets.values.databaseURL is empty: set the PostgreSQL URL" }}
{{- end }}
{{- if and (eq .Values.profile "ingestion-worker") (eq .Values.github.auth "none") }}
{{- fail "profile ingestion-worker needs GitHub access: set github.auth to token or app" }}
{{- end }}
{{- if and (eq .Values.github.auth "app") (or (not .Values.github.appID) (not .Values.github.installationID)) }}
{{- fail "github.auth is app but github.appID or github.installationID is empty: set both" }}
{{- end }}
{{- if and .Values.worker.catalogue.checkout (not .Values.worker.catalogue.estate) }}
{{- fail "worker.catalogue.checkout is set but worker.catalogue.estate is not: set the estate key its catalogue is imported into" }}
{{- end }}
{{- if and .Values.reporting.existingClaim (not .Values.reporting.sinkPath) }}
{{- fail "reporting.existingClaim is set but reporting.sinkPath is not: set the folder to mount it at" }}
{{- end }}
{{- end }}
