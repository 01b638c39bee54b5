import { formatPath, type PathPart } from './path.js'
import type { CrdProblem } from './problem.js'
import type { StructuralSchema } from './schema.js'
import { walkWithSchema } from './walk.js'

/**
 * kube-openapi's format check of integer fields (k8s.io/kube-openapi/pkg/validation/validate/type.go): a value that
 * is not an integer of the field's format gets an extra line at no field, beside the type error if there is one:
 * `<nil>: Invalid value: "": Checked value must be of type integer with format int32 in spec.x` (seen on
 * kube-apiserver 1.37 for 80.5 and for 1e10 in an int32 field; "(default format)" without a format).
 */
const int32 = { min: -(2 ** 31), max: 2 ** 31 - 1 }

function check (value: number, schema: StructuralSchema, path: readonly PathPart[], problems: CrdProblem[]): void {
  const format = schema.format === 'int32' || schema.format === 'int64' ? schema.format : undefined
  const fits = Number.isInteger(value) && (format !== 'int32' || (value >= int32.min && value <= int32.max))
  if (fits) return
  const described = format === undefined ? 'integer (default format)' : `integer with format ${format}`
  problems.push({ field: '', type: 'invalid', value: '""', detail: `Checked value must be of type ${described} in ${formatPath(path)}` })
}

export function validateIntegers (object: unknown, schema: StructuralSchema): CrdProblem[] {
  const problems: CrdProblem[] = []
  walkWithSchema(object, schema, (value, node, path) => {
    const integerTyped = node.type === 'integer' || node['x-kubernetes-int-or-string'] === true
    if (typeof value === 'number' && integerTyped) check(value, node, path, problems)
  })
  return problems
}
