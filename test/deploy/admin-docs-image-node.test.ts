/**
 * Issue 14 §4 "The image", on a real node (test/support/node-cluster.ts: kubelet, containerd, a blackholed network):
 * `kubectl apply -k manifests/` with no image set is accepted (nothing in the apiserver parses image references),
 * and the kubelet then refuses the placeholder at once, before any pull: `kubectl get pods` shows InvalidImageName and
 * the events quote the placeholder, whose text says what to do. This is what an admin sees who skipped step 1.
 */
import t from 'tap'
import { REPO_ROOT } from '../support/cluster.js'
import { startNodeCluster } from '../support/node-cluster.js'
import { NAMESPACE } from '../support/webhook-deployment.js'
import { kubectlOk as kubectlOn } from '../support/kubectl-ok.js'

t.setTimeout(10 * 60 * 1000)

const cluster = await startNodeCluster()
t.teardown(async () => { await cluster.stop() })
t.comment(`real-node cluster started in ${cluster.timings.readyMs} ms`)

interface PodList { items: Array<{ metadata: { name: string }, status?: { containerStatuses?: Array<{ state?: { waiting?: { reason?: string, message?: string } } }> } }> }
interface EventList { items: Array<{ reason?: string, message?: string, involvedObject: { kind?: string, name?: string } }> }

const kubectlOk = async (args: string[]): Promise<string> => await kubectlOn(cluster, args)

t.test('no image set: applied, then refused by the kubelet with the placeholder\'s words, without a pull', async (t) => {
  const applied = await cluster.kubectl(['apply', '-k', `${REPO_ROOT}manifests/`])
  t.equal(applied.code, 0, 'kubectl apply -k manifests/ succeeds: the apiserver cannot refuse an image reference', { stderr: applied.stderr })
  const started = performance.now()
  let waiting: Array<{ pod: string, reason?: string, message?: string }> = []
  while (performance.now() - started < 180_000) {
    const pods = JSON.parse(await kubectlOk(['-n', NAMESPACE, 'get', 'pods', '-o', 'json'])) as PodList
    waiting = pods.items.flatMap((pod) => (pod.status?.containerStatuses ?? []).map((status) => ({ pod: pod.metadata.name, ...status.state?.waiting })))
    if (waiting.length === 2 && waiting.every((state) => state.reason === 'InvalidImageName')) break
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  t.comment(`both pods InvalidImageName ${Math.round(performance.now() - started)} ms after apply`)
  t.equal(waiting.length, 2, 'two pods, as the Deployment asks')
  for (const state of waiting) {
    t.equal(state.reason, 'InvalidImageName', `${state.pod}: waiting with reason InvalidImageName`)
    t.match(state.message, 'no-published-image-build-and-set-yours-see-manifests-README', `${state.pod}: the message quotes the placeholder`)
  }
  t.comment(`container status message: ${waiting[0]?.message ?? ''}`)
  const table = await kubectlOk(['-n', NAMESPACE, 'get', 'pods'])
  t.comment(`$ kubectl -n ${NAMESPACE} get pods\n${table.trimEnd()}`)
  t.match(table, 'InvalidImageName', '`kubectl get pods` shows it in STATUS')
  const events = JSON.parse(await kubectlOk(['-n', NAMESPACE, 'get', 'events', '-o', 'json'])) as EventList
  const podEvents = events.items.filter((event) => event.involvedObject.kind === 'Pod')
  const refused = podEvents.filter((event) => event.message?.includes('no-published-image') === true)
  t.ok(refused.length > 0, 'an event quotes the placeholder')
  t.comment(`event: ${refused[0]?.reason ?? ''}: ${refused[0]?.message ?? ''}`)
  t.notOk(podEvents.some((event) => event.reason === 'Pulling'), 'no pull was attempted (no "Pulling" event)')
})
