/**
 * Field paths in the apiserver's spelling (k8s.io/apimachinery/pkg/util/validation/field.Path.String):
 * `spec.containers[0].name`, and `spec.workerSelector.matchLabels[app]` for a map key (field.Path.Key).
 */
export type PathPart = string | number | { key: string }
export type FieldPath = readonly PathPart[]

export function formatPath (path: FieldPath): string {
  let text = ''
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`
    else if (typeof part === 'object') text += `[${part.key}]`
    else text += text === '' ? part : `.${part}`
  }
  return text
}
