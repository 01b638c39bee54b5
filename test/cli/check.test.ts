import { readFile } from 'node:fs/promises'
import t from 'tap'
import { main } from '../../src/cli/main.js'
import { captureIo } from './io.js'

// `check` on the repo's examples: the same rules as the validating webhook, with tags counted as "would be pinned".

t.test('the tag example is admissible and lists what would be pinned', async (t) => {
  const io = captureIo()
  t.equal(await main(['check', 'examples/agent.yaml'], io), 0)
  t.equal(io.out(), [
    'examples/agent.yaml: ActorTemplate team-a/agent: admissible',
    '  spec.pauseImage: registry.k8s.io/pause:3.10 would be pinned',
    '  spec.containers[0].image: ghcr.io/acme/agent:1.4 would be pinned',
    ''
  ].join('\n'))
})

t.test('pinned and multi-document examples', async (t) => {
  const io = captureIo()
  t.equal(await main(['check', 'examples/pinned.yaml', 'examples/local-agent.yaml'], io), 0)
  t.match(io.out(), /^examples\/pinned\.yaml: ActorTemplate team-a\/pinned: admissible\n/)
  t.match(io.out(), /examples\/local-agent\.yaml#1: not an ActorTemplate \(Namespace\): skipped/)
  t.match(io.out(), /examples\/local-agent\.yaml#3: ActorTemplate team-a\/local-agent-microvm: admissible/)
  t.match(io.out(), /spec\.containers\[1\]\.image: localhost:5001\/acme\/tools would be pinned/)
})

t.test('the bad example is rejected with every problem and exit 1', async (t) => {
  const io = captureIo()
  t.equal(await main(['check', 'examples/bad.yaml'], io), 1)
  const lines = io.out().trimEnd().split('\n')
  t.equal(lines[0], 'examples/bad.yaml: ActorTemplate team-a/bad: would be rejected (5 problems)')
  t.match(lines.slice(1), [
    /^ {2}spec\.containers\[1\]\.name: "pause" is reserved for the sandbox container; choose another name$/,
    /^ {2}spec\.containers\[2\]\.name: duplicate container name "agent"/,
    /^ {2}spec\.containers\[2\]\.image: "ghcr\.io\/acme\/agent@sha256:8E0B.*" is not a valid image reference: sha256 digest hex must be lowercase$/,
    /^ {2}spec\.containers\[3\]\.image: .*digest algorithm md5 is not supported/,
    /^ {2}spec\.containers\[4\]\.image: "ghcr\.io\/Acme\/Agent:1\.4" is not a valid image reference: repository name must be lowercase$/
  ])
})

t.test('JSON, stdin and kind: List', async (t) => {
  const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'ate.dev/v1alpha1', kind: 'ActorTemplate', metadata: { name: 'x' }, spec: { pauseImage: 'pause:3.10', containers: [{ name: 'pause', image: 'a:1' }] } }] })
  const io = captureIo(list)
  t.equal(await main(['check', '-'], io), 1)
  t.match(io.out(), /^- items\[0\]: ActorTemplate x: would be rejected \(1 problem\)\n {2}spec\.containers\[0\]\.name: "pause" is reserved/)
  const pinned = captureIo(await readFile('test/fixtures/reviews/create-pinned.json', 'utf8').then((text) => JSON.stringify((JSON.parse(text) as { request: { object: unknown } }).request.object)))
  t.equal(await main(['check', '-'], pinned), 0)
})

t.test('usage and input errors exit 2', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['check'], /give at least one file or directory, or - for stdin/],
    [['check', 'nonexistent.yaml'], /cannot read nonexistent\.yaml: ENOENT/],
    [['check', '-', '-'], /- \(stdin\) may be given only once/],
    [['check', '--bogus', 'x'], /Unknown option '--bogus'/]
  ]
  for (const [args, message] of cases) {
    const io = captureIo()
    t.equal(await main(args, io), 2, args.join(' '))
    t.match(io.err(), message)
  }
  const broken = captureIo('a: [\n')
  t.equal(await main(['check', '-'], broken), 2)
  t.match(broken.err(), /^-: not valid YAML or JSON: /)
  const empty = captureIo('')
  t.equal(await main(['check', '-'], empty), 2, 'no ActorTemplate at all is an input error, not a pass')
  t.match(empty.err(), /no ActorTemplate .* found in stdin/)
})
