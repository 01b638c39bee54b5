import { readFileSync } from 'node:fs'
import t from 'tap'
import { crdFor, formatCrdProblem, formatUnchecked, parseCrds, validateAgainstCrd } from '../../src/crd/index.js'

// Issue 15 §1: the structural-schema extensions and rule options, on a small CRD made for them.

const crds = parseCrds(readFileSync('test/fixtures/crd/features.example.com.yaml', 'utf8'), 'features CRD')

function judge (spec: Record<string, unknown>, apiVersion = 'example.com/v1') {
  const document = { apiVersion, kind: 'Widget', metadata: { name: 'w' }, spec }
  const crd = crdFor(crds, apiVersion, 'Widget')
  if (crd === undefined) throw new Error('no CRD')
  const verdict = validateAgainstCrd(document, crd)
  return { problems: verdict.problems.map(formatCrdProblem), unknown: verdict.unknownFields, unchecked: verdict.unchecked.map(formatUnchecked) }
}

const cases: Array<[string, Record<string, unknown>, string[]]> = [
  ['int-or-string takes an integer', { port: 8080 }, []],
  ['int-or-string takes a string', { port: 'http' }, []],
  ['int-or-string refuses a boolean', { port: true }, [
    'spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
    'spec.port: Invalid value: "boolean": spec.port in body must be of type integer: "boolean"',
    '<nil>: Invalid value: "": "spec.port" must validate at least one schema (anyOf)',
    '<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation'
  ]],
  ['nullable accepts null', { note: null }, []],
  ['a set with a repeat', { tags: ['a', 'b', 'a'] }, ['spec.tags[2]: Duplicate value: "a"']],
  ['a map list with a repeated key', { ports: [{ name: 'http', number: 80 }, { name: 'http', number: 81 }] },
    ['spec.ports[1]: Duplicate value: {"name":"http"}']],
  ['messageExpression gives the message', { replicas: 7 }, ['spec: Invalid value: replicas must be at most 5']],
  ['messageExpression reads self, an integer field as CEL int', { replicas: 700 }, ['spec: Invalid value: replicas must be at most 5, far above it']],
  ['optionalOldSelf runs a transition rule on create with oldSelf = optional.none()', { owner: 'nobody' },
    ['spec: Invalid value: a widget may not start owned by nobody']],
  ['a rule that errs at run time is a failure, in cel-go\'s words where they differ', { probe: {} },
    ['spec.probe: Invalid value: "object": no such key: must evaluating rule: must is x']],
  ['reason and fieldPath place the error', { owner: 'root' }, ['spec.owner: Forbidden: owner may not be root']],
  ['preserve-unknown-fields keeps unknown keys and still checks known ones', { extra: { anything: { goes: 1 }, level: 4 } },
    ['spec.extra.level: Invalid value: 4: spec.extra.level in body should be less than or equal to 3']]
]

for (const [name, spec, expected] of cases) {
  t.test(name, async (t) => {
    const verdict = judge(spec)
    t.same(verdict.problems, expected)
    t.same(verdict.unknown, [])
  })
}

t.test('a rule the offline evaluator cannot run is reported, never passed', async (t) => {
  const verdict = judge({ url: 'https://example.com' })
  t.same(verdict.problems, [])
  t.same(verdict.unchecked, ['spec: rule "!has(self.url) || isURL(self.url)" not checked offline: unbound function: isURL'])
})

t.test('another served version is judged by its own schema', async (t) => {
  const verdict = judge({ anything: true }, 'example.com/v1beta1')
  t.same(verdict, { problems: [], unknown: [], unchecked: [] })
})
