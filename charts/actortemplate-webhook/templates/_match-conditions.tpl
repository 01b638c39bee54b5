{{/*
matchConditions of pin.actortemplates.ate.dev (issue 16 §1): the apiserver calls the webhook only when it has work,
so a pinned template (a GitOps repository of pinned templates) never depends on it being up.

One source: files/match-conditions.yaml is the list in manifests/base/webhooks.yaml (test/deploy/helm-drift.test.ts
compares them). The conditions name the annotation the webhook owns; it follows config.admission.annotationKey, whose
schema pattern allows no quote, so it cannot break out of the CEL string.
*/}}
{{- define "atw.matchConditions" -}}
{{- $key := (.Values.config.admission | default dict).annotationKey | default "ate.dev/pinned-images" -}}
{{- .Files.Get "files/match-conditions.yaml" | replace "'ate.dev/pinned-images'" (printf "'%s'" $key) | trim -}}
{{- end -}}
