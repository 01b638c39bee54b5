export { CrdLoadError, parseCrds, type LoadedCrd } from './load.js'
export { formatCrdProblem, formatUnchecked, type CrdProblem, type UncheckedRule } from './problem.js'
export { crdFor, validateAgainstCrd, type CrdVerdict } from './validate.js'
