import type { CelFunc } from '@bufbuild/cel'
import { formatFunctions } from './format.js'
import { optionalFunctions } from './optional.js'

/** The Kubernetes CEL library functions @bufbuild/cel lacks and the CRDs we check use; each module cites its source. */
export const kubernetesLibrary: readonly CelFunc[] = [...optionalFunctions, ...formatFunctions]
