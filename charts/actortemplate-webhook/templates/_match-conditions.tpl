{{/*
matchConditions of pin.actortemplates.ate.dev (issue 16 §1): the apiserver calls the webhook only when it has work, so a
pinned template (a GitOps repository of pinned templates) never depends on it being up. All must hold to call, so
there is one condition, an OR of the cases:
  - some image lacks a well-formed digest (the VAP's pattern), or is missing: the webhook (then the CRD schema) gives
    the message, not a CEL evaluation error;
  - UPDATE: the spec changed (the CRD then rejects it, but the webhook gives the better message);
  - the pinned-images annotation: present on CREATE (the webhook owns it), changed on UPDATE.
The annotation key follows config.admission.annotationKey.
*/}}
{{- define "atw.matchConditions" -}}
{{- $key := ((.Values.config.admission | default dict).annotationKey | default "ate.dev/pinned-images") | quote -}}
{{- $digest := "'@(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$'" -}}
- name: needs-the-webhook
  expression: >-
    !has(object.spec) || !has(object.spec.pauseImage) || !object.spec.pauseImage.matches({{ $digest }}) ||
    (has(object.spec.containers) && object.spec.containers.exists(c, !has(c.image) || !c.image.matches({{ $digest }}))) ||
    (request.operation == 'UPDATE' && object.spec != oldObject.spec) ||
    (request.operation == 'CREATE' && has(object.metadata.annotations) && {{ $key }} in object.metadata.annotations) ||
    (request.operation == 'UPDATE' &&
      ((has(object.metadata.annotations) && {{ $key }} in object.metadata.annotations) ?
        object.metadata.annotations[{{ $key }}] : '<absent>') !=
      ((has(oldObject.metadata.annotations) && {{ $key }} in oldObject.metadata.annotations) ?
        oldObject.metadata.annotations[{{ $key }}] : '<absent>'))
{{- end -}}
