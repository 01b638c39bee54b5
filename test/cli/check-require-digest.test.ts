import t from 'tap'
import { main } from '../../src/cli/main.js'
import { captureIo } from './io.js'

// Issue 15 §3: with --require-digest a tag is a failure (exit 1), not "would be pinned"; GitOps repositories must
// stay pinned so the cluster never diverges from git.

t.test('a tag template fails with every unpinned field and a hint, exit 1', async (t) => {
  const io = captureIo()
  t.equal(await main(['check', '--require-digest', 'examples/agent.yaml'], io), 1)
  t.equal(io.out(), [
    'examples/agent.yaml: ActorTemplate team-a/agent: would be rejected (2 problems)',
    '  spec.pauseImage: image registry.k8s.io/pause:3.10 has no digest',
    '  spec.containers[0].image: image ghcr.io/acme/agent:1.4 has no digest',
    '  hint: --require-digest wants digests in the file; "actortemplate-webhook pin FILE" writes them',
    ''
  ].join('\n'))
  t.notMatch(io.out(), /would be pinned/)
})

t.test('a pinned template passes, exit 0', async (t) => {
  const io = captureIo()
  t.equal(await main(['check', '--require-digest', 'examples/pinned.yaml'], io), 0)
  t.equal(io.out(), 'examples/pinned.yaml: ActorTemplate team-a/pinned: admissible\n')
})

t.test('with --crd the CRD judges the file as written, without the webhook\'s pins', async (t) => {
  const io = captureIo()
  t.equal(await main(['check', '--require-digest', '--crd', 'test/fixtures/crd/actortemplates-rules.ate.dev.yaml', 'examples/agent.yaml'], io), 1)
  t.match(io.out(), /would be rejected \(4 problems\)/)
  t.match(io.out(), /spec\.pauseImage: Invalid value: "registry\.k8s\.io\/pause:3\.10": All images must be pinned/)
})

t.test('one tag among several files makes the run fail', async (t) => {
  const io = captureIo()
  t.equal(await main(['check', '--require-digest', 'examples/pinned.yaml', 'examples/local-agent.yaml'], io), 1)
  t.match(io.out(), /team-a\/pinned: admissible/)
  t.match(io.out(), /local-agent: would be rejected \(3 problems\)/)
})
