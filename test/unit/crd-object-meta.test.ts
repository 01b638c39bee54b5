import { readFileSync } from 'node:fs'
import t from 'tap'
import { parse } from 'yaml'
import { crdFor, formatCrdProblem, parseCrds, validateAgainstCrd } from '../../src/crd/index.js'

// Issue 15 §1: what the apiserver checks besides the schema on create: metadata, status under the status
// subresource, nulls, integer formats. Expected lines are those kube-apiserver 1.37 printed for the same documents
// (test/cli/check-crd-apiserver.test.ts compares them live).

const crds = parseCrds(readFileSync('test/fixtures/crd/actortemplates-rules.ate.dev.yaml', 'utf8'), 'rules CRD')
const valid = parse(readFileSync('test/fixtures/crd/valid-template.yaml', 'utf8')) as Record<string, unknown> & { metadata: Record<string, unknown>, spec: Record<string, unknown> }
const subdomain = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
const notRun = '<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation'

function judge (mutate: (template: typeof valid) => void) {
  const template = structuredClone(valid)
  mutate(template)
  const crd = crdFor(crds, template['apiVersion'], template['kind'])
  if (crd === undefined) throw new Error('no CRD')
  const verdict = validateAgainstCrd(template, crd)
  return { problems: verdict.problems.map(formatCrdProblem), unknown: verdict.unknownFields, object: verdict.object }
}

const cases: Array<[string, (template: typeof valid) => void, string[], string[]]> = [
  ['a name that is not a DNS subdomain', (x) => { x.metadata['name'] = 'Bad_Name' }, [`metadata.name: Invalid value: "Bad_Name": ${subdomain}`], []],
  ['no name and no generateName', (x) => { delete x.metadata['name'] }, ['metadata.name: Required value: name or generateName is required', notRun], []],
  ['a generateName ending in a dash', (x) => { delete x.metadata['name']; x.metadata['generateName'] = 'agent-' }, [], []],
  ['a name of 254 characters', (x) => { x.metadata['name'] = 'a'.repeat(254) }, [`metadata.name: Invalid value: "${'a'.repeat(254)}": must be no more than 253 characters`], []],
  ['a label key with a space', (x) => { x.metadata['labels'] = { 'a b': 'c' } },
    ["metadata.labels: Invalid value: \"a b\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"], []],
  ['a label value with a space', (x) => { x.metadata['labels'] = { app: 'a b' } },
    ["metadata.labels: Invalid value: \"a b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"], []],
  ['a label prefix in capitals', (x) => { x.metadata['labels'] = { 'Ex.com/app': 'a' } }, [`metadata.labels: Invalid value: "Ex.com/app": prefix part ${subdomain}`], []],
  ['unknown metadata and ownerReference fields', (x) => { x.metadata['foo'] = 1; x.metadata['ownerReferences'] = [{ apiVersion: 'v1', kind: 'X', name: 'y', uid: 'z', foo: 1 }] },
    [], ['metadata.foo', 'metadata.ownerReferences[0].foo']],
  ['status is ignored on create under the status subresource', (x) => { x['status'] = { phase: 1 } }, [], []],
  ['but unknown status fields are still strict errors', (x) => { x['status'] = { foo: 1 } }, [], ['status.foo']],
  ['null where null is not allowed and there is no default is dropped', (x) => { x.spec['containers'] = null }, [], []],
  ['a fractional number in an int32 field', (x) => { x.spec['containers'] = [{ name: 'a', image: String(x.spec['pauseImage']), readyz: { httpGet: { port: 80.5 } } }] }, [
    'spec.containers[0].readyz.httpGet.port: Invalid value: "float64": spec.containers[0].readyz.httpGet.port in body must be of type int32: "float64"',
    '<nil>: Invalid value: "": Checked value must be of type integer with format int32 in spec.containers[0].readyz.httpGet.port',
    notRun
  ], []],
  ['an integer beyond int32', (x) => { x.spec['containers'] = [{ name: 'a', image: String(x.spec['pauseImage']), readyz: { httpGet: { port: 1e10 } } }] }, [
    'spec.containers[0].readyz.httpGet.port: Invalid value: 10000000000: spec.containers[0].readyz.httpGet.port in body should be less than or equal to 65535',
    '<nil>: Invalid value: "": Checked value must be of type integer with format int32 in spec.containers[0].readyz.httpGet.port'
  ], []]
]

for (const [name, mutate, problems, unknown] of cases) {
  t.test(name, async (t) => {
    const verdict = judge(mutate)
    t.same(verdict.problems, problems)
    t.same(verdict.unknown, unknown)
  })
}

t.test('null with a default takes the default', async (t) => {
  const verdict = judge((x) => { x.spec['sandboxClass'] = null })
  t.equal((verdict.object['spec'] as Record<string, unknown>)['sandboxClass'], 'gvisor')
})
