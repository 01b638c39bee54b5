import t from 'tap'
import { main } from '../../src/cli/main.js'
import { captureIo } from './io.js'

// `check --output json`: one object per document on its own line, for CI; the human output stays as it was.

function records (text: string): unknown[] {
  return text.trimEnd().split('\n').map((line) => JSON.parse(line) as unknown)
}

t.test('an admissible template lists its pins; a skipped document says what it was', async (t) => {
  const io = captureIo()
  t.equal(await main(['check', '--output', 'json', 'examples/agent.yaml', 'examples/local-agent.yaml'], io), 0)
  const [agent, namespace] = records(io.out())
  t.same(agent, {
    file: 'examples/agent.yaml',
    index: 0,
    kind: 'ActorTemplate',
    name: 'agent',
    namespace: 'team-a',
    verdict: 'admissible',
    problems: [],
    pins: [
      { field: 'spec.pauseImage', reference: 'registry.k8s.io/pause:3.10' },
      { field: 'spec.containers[0].image', reference: 'ghcr.io/acme/agent:1.4' }
    ],
    notes: []
  })
  t.match(namespace, { file: 'examples/local-agent.yaml', index: 0, kind: 'Namespace', name: null, verdict: 'skipped', problems: [], pins: [] })
  t.equal(records(io.out()).length, 1 + 3, 'one line per document of local-agent.yaml (Namespace and two templates)')
})

t.test('a rejected template gives each problem as field, reason and message, and exit 1', async (t) => {
  const io = captureIo()
  t.equal(await main(['check', '-o', 'json', 'examples/bad.yaml'], io), 1)
  const [bad, ...rest] = records(io.out())
  t.same(rest, [])
  t.match(bad, {
    file: 'examples/bad.yaml',
    index: 0,
    name: 'bad',
    verdict: 'rejected',
    pins: [],
    problems: [
      { field: 'spec.containers[1].name', reason: 'ReservedName', message: '"pause" is reserved for the sandbox container; choose another name' },
      { field: 'spec.containers[2].name', reason: 'DuplicateName' },
      { field: 'spec.containers[2].image', reason: 'InvalidDigest', message: /sha256 digest hex must be lowercase/ },
      { field: 'spec.containers[3].image', reason: 'InvalidDigest' },
      { field: 'spec.containers[4].image', reason: 'InvalidReference' }
    ]
  })
})

t.test('stdin, kind: List items and a CRD failure are fields of the same shape', async (t) => {
  const template = { apiVersion: 'ate.dev/v1alpha1', kind: 'ActorTemplate', metadata: { name: 'x' }, spec: { pauseImage: 'pause:3.10', containers: [{ name: 'pause', image: 'a:1' }] } }
  const io = captureIo(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [template] }))
  t.equal(await main(['check', '--output=json', '-'], io), 1)
  t.match(records(io.out()), [{ file: '-', index: 0, item: 0, name: 'x', namespace: null, verdict: 'rejected', problems: [{ field: 'spec.containers[0].name', reason: 'ReservedName' }] }])
})

t.test('the human output is unchanged and an unknown --output is a usage error', async (t) => {
  const human = captureIo()
  t.equal(await main(['check', 'examples/agent.yaml'], human), 0)
  const explicit = captureIo()
  t.equal(await main(['check', '--output', 'human', 'examples/agent.yaml'], explicit), 0)
  t.equal(explicit.out(), human.out())
  t.match(human.out(), /^examples\/agent\.yaml: ActorTemplate team-a\/agent: admissible\n/)
  const io = captureIo()
  t.equal(await main(['check', '--output', 'yaml', 'examples/agent.yaml'], io), 2)
  t.match(io.err(), /--output must be human or json, not "yaml"/)
})

t.test('with --crd, the apiserver\'s failures carry its error type as the reason, and notes are listed', async (t) => {
  const io = captureIo()
  t.equal(await main(['check', '-o', 'json', '--crd', 'test/fixtures/crd/actortemplates-rules.ate.dev.yaml', 'test/fixtures/crd/issue-15-examples.yaml'], io), 1)
  const [badName] = records(io.out())
  t.match(badName, {
    file: 'test/fixtures/crd/issue-15-examples.yaml',
    index: 0,
    name: 'bad-name',
    verdict: 'rejected',
    problems: [{ field: 'spec.containers[0].name', reason: 'FieldValueInvalid', message: 'Invalid value: "Agent_1": Name must be a valid DNS label' }],
    notes: [/^note: spec: rule "self == oldSelf" not checked offline/]
  })
})
