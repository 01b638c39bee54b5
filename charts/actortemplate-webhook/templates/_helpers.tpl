{{/*
Names. The namespaced objects take the release's full name (actortemplate-webhook for a release of that name, as the
kustomize base); the admission configurations and the policy are cluster-wide singletons with fixed names, so a
cluster holds one release of this chart.
*/}}
{{- define "atw.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "atw.mutatingName" -}}pin.actortemplates.ate.dev{{- end -}}
{{- define "atw.validatingName" -}}validate.actortemplates.ate.dev{{- end -}}
{{- define "atw.certificateSecret" -}}{{ include "atw.fullname" . }}-certs{{- end -}}
{{- define "atw.configMap" -}}{{ include "atw.fullname" . }}-config{{- end -}}
{{- define "atw.selfManaged" -}}{{ if eq .Values.certificates.mode "self-managed" }}true{{ end }}{{- end -}}

{{/* The selector labels: the kustomize base's, so the two installs select the same pods. */}}
{{- define "atw.selectorLabels" -}}
app.kubernetes.io/name: actortemplate-webhook
app.kubernetes.io/component: webhook
{{- end -}}

{{/* Every object: the base's labels plus Helm's. */}}
{{- define "atw.labels" -}}
app.kubernetes.io/name: actortemplate-webhook
app.kubernetes.io/part-of: actortemplate-webhook
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* No published image exists, so an install without one stops here with what to do (README "The image"). */}}
{{- define "atw.image" -}}
{{- $repository := required "image.repository is required: there is no published actortemplate-webhook image. Build one (npm run image, or docker build), push it to your registry and set image.repository and image.digest (charts/actortemplate-webhook/README.md \"The image\")" .Values.image.repository -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repository .Values.image.digest -}}
{{- else if .Values.image.tag -}}
{{- printf "%s:%s" $repository .Values.image.tag -}}
{{- else -}}
{{- fail "image.digest (preferred) or image.tag is required: set the digest you pushed (--set image.digest=sha256:...)" -}}
{{- end -}}
{{- end -}}

{{/* Namespaces the webhooks never see: the listed ones and the release's own. */}}
{{- define "atw.namespaceSelector" -}}
{{- $excluded := concat .Values.webhook.namespaceSelector.excludedNamespaces (list .Release.Namespace) | uniq -}}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values: {{ toJson $excluded }}
{{- with .Values.webhook.namespaceSelector.optIn }}
{{- if .enabled }}
  - key: {{ .label | quote }}
    operator: In
    values: [{{ .value | quote }}]
{{- end }}
{{- end }}
{{- end -}}

{{/* The webhook's config file: the admin's `config` value plus the keys the chart owns (values.yaml `config`). */}}
{{- define "atw.configFile" -}}
{{- $config := deepCopy .Values.config -}}
{{- $server := merge (dict "tlsCert" "/var/run/actortemplate-webhook/tls/tls.crt" "tlsKey" "/var/run/actortemplate-webhook/tls/tls.key") (get $config "server" | default dict) -}}
{{- $_ := set $config "server" $server -}}
{{- $mode := ternary "self-managed" "files" (eq .Values.certificates.mode "self-managed") -}}
{{- $certificates := merge (dict "mode" $mode) (get $config "certificates" | default dict) -}}
{{- $_ := set $config "certificates" $certificates -}}
{{- if .Values.drift.enabled -}}{{- $_ := set $config "drift" (merge (dict "intervalMinutes" .Values.drift.intervalMinutes) (get $config "drift" | default dict)) -}}{{- end -}}
{{- toYaml $config -}}
{{- end -}}

{{/* Pull Secrets by namespace: "" is the release namespace (a Secret listed without one). */}}
{{- define "atw.pullSecretsByNamespace" -}}
{{- $byNamespace := dict -}}
{{- range ((.Values.config.credentials | default dict).secrets | default list) -}}
{{- $namespace := .namespace | default "" -}}
{{- if eq $namespace $.Release.Namespace }}{{ $namespace = "" }}{{ end -}}
{{- $_ := set $byNamespace $namespace (append (get $byNamespace $namespace | default list) .name | uniq) -}}
{{- end -}}
{{- toJson $byNamespace -}}
{{- end -}}

{{/* The names the monitoring templates (servicemonitor, prometheusrule, grafana-dashboard; issue 14 §3) include. */}}
{{- define "actortemplate-webhook.fullname" -}}{{ include "atw.fullname" . }}{{- end -}}
{{- define "actortemplate-webhook.labels" -}}{{ include "atw.labels" . }}{{- end -}}
