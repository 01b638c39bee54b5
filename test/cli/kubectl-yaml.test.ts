// The YAML → JSON step kubectl performs (sigs.k8s.io/yaml over go-yaml v2), as src/cli/kubectl-yaml.ts reproduces it.
// The live comparison with kubectl is test/cli/check-crd-corpus.test.ts; this pins down the table itself.
import t from 'tap'
import { parseDocument } from 'yaml'
import { kubectlValue, resolvePlainScalar } from '../../src/cli/kubectl-yaml.js'

t.test('plain scalars resolve the YAML 1.1 way of go-yaml v2', async (t) => {
  const table: Array<[string, unknown]> = [
    ['yes', true], ['On', true], ['y', true], ['NO', false], ['off', false], ['n', false],
    ['~', null], ['null', null], ['', null],
    ['0755', 493], ['0o17', 15], ['0x1F', 31], ['-0x10', -16], ['0b101', 5], ['1_000', 1000], ['+12', 12], ['08', 8], ['0', 0],
    ['1e3', 1000], ['.5', 0.5], ['8080.0', 8080],
    ['1e400', '1e400'], ['12:30', '12:30'], ['2001-12-14', '2001-12-14'], ['18446744073709551616', '18446744073709551616'],
    ['demo', 'demo'], ['yes please', 'yes please'], ['.hidden', '.hidden'], ['-', '-'], ['1.2.3', '1.2.3']
  ]
  for (const [text, expected] of table) t.same(resolvePlainScalar(text), expected, JSON.stringify(text))
  for (const text of ['.inf', '-.Inf', '.NaN']) {
    t.throws(() => resolvePlainScalar(text), { name: 'YamlToJsonError', message: /^error converting YAML to JSON: json: unsupported value: [-+]?(Inf|NaN)$/ }, text)
  }
})

t.test('documents: quoting keeps strings, keys become strings, merges and aliases expand', async (t) => {
  const document = parseDocument('a: yes\nb: "yes"\nc: !!str 0755\nd: |\n  on\non: key\nbase: &base {x: 1, z: 2}\nmerged: {<<: *base, z: 3}\nlist: [0x10, off]\n')
  t.same(kubectlValue(document), { a: true, b: 'yes', c: '0755', d: 'on\n', true: 'key', base: { x: 1, z: 2 }, merged: { x: 1, z: 3 }, list: [16, false] })
  t.same(kubectlValue(parseDocument('y: 1\nn: 2\n')), { true: 1, false: 2 }, 'the keys y and n are booleans too, written "true" and "false"')
  t.throws(() => kubectlValue(parseDocument('spec:\n  ratio: .inf\n')), { message: 'error converting YAML to JSON: json: unsupported value: +Inf (at spec.ratio)' })
  t.same(kubectlValue(parseDocument('{"port": 8080, "value": "yes", "none": null}')), { port: 8080, value: 'yes', none: null }, 'JSON is read as JSON')
})
