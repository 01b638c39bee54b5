/**
 * Issue 14 §4, uninstall: the two commands of manifests/README.md "Uninstall", read from the README and run as it
 * states them (from the repository root), against a real kube-apiserver on which overlays/validating-webhook (both
 * webhook configurations, the policy) was applied with `kubectl apply -k`. The apiserver's audit log gives the order
 * in which it received and completed the deletes: both webhook configurations must be gone before the delete of any
 * other object is received, so no configuration ever points at a Service that is gone. Afterwards a template with a
 * tag is refused by the CRD's own rule, not by a call to a webhook. A second install removed with `kubectl delete -k`
 * alone shows why the README's order matters: kustomize's order deletes the Service before the configurations, and
 * the overlay's validating configuration, absent from manifests/, is left behind.
 *
 * This cluster has no controllers. `kubectl delete -k` waits for the Namespace, whose finalizer the namespace
 * controller removes once the namespace is empty; the test does that one step itself (PUT …/finalize) once kubectl
 * has deleted everything else.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { onlyBlock, readManifestsReadme, shellCommands } from '../deploy/admin-docs-readme.js'
import { installCrd, REPO_ROOT, startCluster, type KubectlResult } from '../support/cluster.js'
import { kustomize, WITH_VALIDATING_WEBHOOK_DIR } from '../support/webhook-configs.js'
import { actorTemplate, createNamespace, manifest, PINNED_MESSAGE, pollDryRun } from './harness.js'
import { kubectlOk as kubectlOn } from '../support/kubectl-ok.js'

t.setTimeout(5 * 60 * 1000)
// The README's paths (manifests/) are relative to the repository root.
process.chdir(REPO_ROOT)

const NAMESPACE = 'actortemplate-webhook'
const CONFIGURATIONS = ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']
const sha = `sha256:${'7'.repeat(64)}`

const dir = await mkdtemp(join(tmpdir(), 'atw-e2e-uninstall-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const auditLog = join(dir, 'audit.log')
await writeFile(join(dir, 'audit-policy.yaml'), [
  'apiVersion: audit.k8s.io/v1', 'kind: Policy', 'omitStages: ["RequestReceived"]',
  'rules:', '  - level: Metadata', '    verbs: ["delete", "deletecollection"]', '  - level: None', ''
].join('\n'))
const cluster = await startCluster({ extraApiServerArgs: [`--audit-policy-file=${join(dir, 'audit-policy.yaml')}`, `--audit-log-path=${auditLog}`] })
t.teardown(() => cluster.stop())
await installCrd(cluster)
await createNamespace(cluster, 'team-a')
const installed = await kustomize(cluster, WITH_VALIDATING_WEBHOOK_DIR)
const tagged = (name: string): string => manifest(actorTemplate(name, 'team-a', `registry.example/pause:3.10@${sha}`, [{ name: 'agent', image: 'registry.example/acme/agent:1.4' }]))

const readme = await readManifestsReadme()
const commands = shellCommands(onlyBlock(readme, 'Uninstall', 'sh'))

const kubectlOk = async (args: string[]): Promise<string> => await kubectlOn(cluster, args)

/** Installs as an admin does, and waits until the apiserver calls the (pod-less) webhook and fails closed. */
async function install (): Promise<void> {
  await kubectlOk(['apply', '-k', WITH_VALIDATING_WEBHOOK_DIR])
  await pollDryRun(cluster, actorTemplate('probe', 'team-a', `registry.example/pause:3.10@${sha}`, [{ name: 'agent', image: 'registry.example/acme/agent:1.4' }]),
    (result) => result.stderr.includes('failed calling webhook "pin.actortemplates.ate.dev"'), 'the installed mutating webhook')
}

/** The namespace controller's last step: once the Namespace is terminating, drop its finalizer. */
async function finalizeNamespaceWhenDeleted (signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const got = await cluster.kubectl(['get', 'namespace', NAMESPACE, '-o', 'json'])
    if (got.code === 0) {
      const namespace = JSON.parse(got.stdout) as { metadata: { deletionTimestamp?: string }, spec?: { finalizers?: string[] } }
      if (namespace.metadata.deletionTimestamp !== undefined) {
        const finalized = await cluster.kubectl(['replace', '--raw', `/api/v1/namespaces/${NAMESPACE}/finalize`, '-f', '-'],
          { input: JSON.stringify({ ...namespace, spec: { finalizers: [] } }) })
        if (finalized.code !== 0) throw new Error(`finalizing namespace ${NAMESPACE} failed: ${finalized.stderr}`)
        return
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

interface AuditEvent {
  verb: string
  objectRef?: { resource?: string, name?: string }
  responseStatus?: { code?: number }
  requestReceivedTimestamp: string
  stageTimestamp: string
}

async function deletesSince (line: number): Promise<{ events: AuditEvent[], lines: number }> {
  const all = (await readFile(auditLog, 'utf8')).split('\n').filter((entry) => entry !== '')
  return { events: all.slice(line).map((entry) => JSON.parse(entry) as AuditEvent), lines: all.length }
}

/** Runs `commands` in turn (the Namespace finalized as a controller would); returns the deletes the apiserver logged. */
async function uninstall (t: Test, run: string[][]): Promise<AuditEvent[]> {
  const before = (await deletesSince(0)).lines
  const stop = new AbortController()
  const finalizer = finalizeNamespaceWhenDeleted(stop.signal)
  try {
    for (const [program, ...args] of run) {
      t.equal(program, 'kubectl', 'the README\'s commands are kubectl commands')
      const result: KubectlResult = await cluster.kubectl(args, { timeoutMs: 120_000 })
      t.equal(result.code, 0, `kubectl ${args.join(' ')}`, { stderr: result.stderr })
      t.comment(`$ kubectl ${args.join(' ')}\n${result.stdout.trimEnd()}`)
    }
  } finally {
    stop.abort()
    await finalizer
  }
  // Audit events are written as requests complete; give the last ones a moment to reach the file.
  let events: AuditEvent[] = []
  for (let attempt = 0; attempt < 40; attempt++) {
    events = (await deletesSince(before)).events
    if (events.some((event) => event.objectRef?.resource === 'namespaces')) break
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  return events
}

const resourceOf = (kind: string): string => kind.toLowerCase().replace(/y$/, 'ie') + 's'

t.test('the README\'s uninstall: webhook configurations first, then the rest, nothing left pointing nowhere', async (t) => {
  t.equal(commands.length, 2, 'two commands')
  await install()
  const deletes = await uninstall(t, commands)
  t.comment(`deletes in the order the apiserver completed them:\n  ${deletes.map((event) => `${event.objectRef?.resource ?? ''}/${event.objectRef?.name ?? ''}`).join('\n  ')}`)
  // `--ignore-not-found` still sends a delete for the configuration already gone; the apiserver answers 404.
  const configurations = deletes.filter((event) => CONFIGURATIONS.includes(event.objectRef?.resource ?? '') && event.responseStatus?.code === 200)
  t.same(configurations.map((event) => event.objectRef?.name).toSorted(), ['pin.actortemplates.ate.dev', 'validate.actortemplates.ate.dev'], 'both configurations deleted')
  const configurationsGone = Math.max(...configurations.map((event) => Date.parse(event.stageTimestamp)))
  for (const object of installed.filter((object) => !object.kind.endsWith('WebhookConfiguration'))) {
    const deleted = deletes.filter((event) => event.objectRef?.resource === resourceOf(object.kind) && event.objectRef.name === object.metadata.name &&
      event.responseStatus?.code === 200)
    t.equal(deleted.length, 1, `${object.kind}/${object.metadata.name} deleted`)
    t.ok(deleted.every((event) => Date.parse(event.requestReceivedTimestamp) >= configurationsGone),
      `${object.kind}/${object.metadata.name}: its delete was received after both webhook configurations were gone`)
  }
  const left = await kubectlOk(['get', 'mutatingwebhookconfigurations,validatingwebhookconfigurations,validatingadmissionpolicies,validatingadmissionpolicybindings,clusterroles,clusterrolebindings',
    '-l', 'app.kubernetes.io/name=actortemplate-webhook', '-o', 'name'])
  t.equal(left.trim(), '', 'no cluster-wide object of the install is left')
  t.equal((await cluster.kubectl(['get', 'namespace', NAMESPACE])).code, 1, 'the namespace is gone')
  const refused = await cluster.kubectl(['create', '-f', '-'], { input: tagged('after-uninstall') })
  t.not(refused.code, 0, 'a template with a tag is not admitted')
  t.match(refused.stderr, PINNED_MESSAGE, 'refused by the CRD\'s own rule')
  t.notMatch(refused.stderr, /failed calling webhook/, 'not by a call to a webhook that is gone')
})

t.test('`kubectl delete -k` alone: the Service is deleted while the configurations still point at it', async (t) => {
  await install()
  const alone = commands.find((command) => command.includes('-k'))
  t.ok(alone, 'the README\'s delete -k')
  const deletes = await uninstall(t, alone === undefined ? [] : [alone])
  const received = (resource: string, name: string): number =>
    Date.parse(deletes.find((event) => event.objectRef?.resource === resource && event.objectRef.name === name)?.requestReceivedTimestamp ?? 'NaN')
  const service = received('services', 'actortemplate-webhook')
  const mutating = received('mutatingwebhookconfigurations', 'pin.actortemplates.ate.dev')
  t.ok(service < mutating, 'the Service went first: in between, the apiserver would call a webhook with no Service')
  t.comment(`without the first command the mutating configuration outlived the Service by ${mutating - service} ms`)
  // The install was overlays/validating-webhook: its configuration is not in manifests/, so delete -k leaves it
  // behind for good, failing closed on every template, pinned ones included.
  t.equal((await kubectlOk(['get', 'validatingwebhookconfigurations', '-o', 'name'])).trim(), 'validatingwebhookconfiguration.admissionregistration.k8s.io/validate.actortemplates.ate.dev',
    'the validating configuration is left behind')
  const pinned = await cluster.kubectl(['create', '--dry-run=server', '-f', '-'], {
    input: manifest(actorTemplate('pinned', 'team-a', `registry.example/pause:3.10@${sha}`, [{ name: 'agent', image: `registry.example/acme/agent@${sha}` }]))
  })
  t.match(pinned.stderr, 'failed calling webhook "validate.actortemplates.ate.dev"', 'and refuses even a pinned template: what the label selector prevents')
  await kubectlOk(['delete', 'validatingwebhookconfigurations', '-l', 'app.kubernetes.io/name=actortemplate-webhook'])
})
