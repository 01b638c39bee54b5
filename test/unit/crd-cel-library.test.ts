import { isCelError, run } from '@bufbuild/cel'
import t from 'tap'
import { kubernetesLibrary } from '../../src/crd/cel-library/index.js'

// Issue 15 §1: the Kubernetes CEL library functions @bufbuild/cel lacks. Expected values follow
// k8s.io/apiserver/pkg/cel/library/format_test.go and k8s.io/apimachinery/pkg/util/validation (validation_test.go).

function evaluate (expression: string, self: string): unknown {
  const result = run(expression, { self }, { funcs: [...kubernetesLibrary] })
  return isCelError(result) ? `error: ${result.message}` : result
}

const labelMessage = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
const subdomainMessage = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"

const hasErrors: Array<[string, string, boolean]> = [
  ['dns1123Label', 'a', false],
  ['dns1123Label', '0', false],
  ['dns1123Label', 'agent-1', false],
  ['dns1123Label', 'a'.repeat(63), false],
  ['dns1123Label', 'a'.repeat(64), true],
  ['dns1123Label', 'Agent_1', true],
  ['dns1123Label', '-agent', true],
  ['dns1123Label', 'agent-', true],
  ['dns1123Label', 'a.b', true],
  ['dns1123Label', '', true],
  ['dns1123Subdomain', 'example.com', false],
  ['dns1123Subdomain', 'agent-secret', false],
  ['dns1123Subdomain', 'a.b-c.d', false],
  ['dns1123Subdomain', `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, false],
  ['dns1123Subdomain', 'a'.repeat(254), true],
  ['dns1123Subdomain', 'Example.com', true],
  ['dns1123Subdomain', 'a..b', true],
  ['dns1123Subdomain', '.a', true],
  ['dns1123Subdomain', '', true]
]

for (const [format, value, invalid] of hasErrors) {
  t.test(`format.${format}().validate(${JSON.stringify(value.length > 20 ? `${value.slice(0, 8)}…(${value.length})` : value)})`, async (t) => {
    t.equal(evaluate(`format.${format}().validate(self).hasValue()`, value), invalid)
  })
}

t.test('the messages are the apimachinery ones', async (t) => {
  t.same(evaluate('format.dns1123Label().validate(self).value()', 'Agent_1'), [labelMessage])
  t.same(evaluate('format.dns1123Label().validate(self).value()', 'a'.repeat(64)), ['must be no more than 63 characters'])
  t.same(evaluate('format.dns1123Subdomain().validate(self).value()', 'A'), [subdomainMessage])
  t.same(evaluate('format.dns1123Subdomain().validate(self).value()', `${'a'.repeat(254)}-`), ['must be no more than 253 characters', subdomainMessage])
})

t.test('optional values', async (t) => {
  t.equal(evaluate('optional.none().hasValue()', ''), false)
  t.equal(evaluate('optional.of(self).hasValue()', 'x'), true)
  t.equal(evaluate('optional.of(self).value()', 'x'), 'x')
  t.equal(evaluate('optional.none().orValue(self)', 'fallback'), 'fallback')
  t.match(evaluate('optional.none().value()', ''), /optional\.none\(\) dereference/)
})

t.test('the methods refuse ordinary maps, so a misuse fails as on the apiserver', async (t) => {
  t.match(evaluate("{'a': 1}.hasValue()", ''), /^error: /)
  t.match(evaluate("{'a': 1}.validate(self)", 'x'), /^error: /)
})
