/**
 * issue 4, scenario 9: the self-managed certificates (src/kube/certificate-manager.ts) against a real apiserver.
 * `kubectl apply -k manifests/overlays/validating-webhook` installs the shipped objects with both configurations; the webhook process runs `serve` with the shipped
 * ConfigMap's config.yaml and a kubeconfig for the shipped ServiceAccount, so the shipped RBAC is what it has. It fills
 * the empty Secret, patches caBundle into both configurations and serves admissions through clientConfig.service; then
 * a CA rotation, brought forward by configuration, happens while admissions keep succeeding.
 *
 * The serving certificate names actortemplate-webhook.actortemplate-webhook.svc only, so the apiserver must dial the
 * Service (TLS server name <service>.<namespace>.svc), not a URL. With no kube-proxy, the Service's ClusterIP must
 * itself reach the process: the cluster's service range is on loopback (127.0.100.0/24), the webhook listens on the
 * ClusterIP, and the Service and clientConfig.service name its unprivileged port instead of 443.
 */
import { X509Certificate } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:tls'
import t from 'tap'
import { parse } from 'yaml'
import { installCrd, startCluster } from '../support/cluster.js'
import { buildOciImage, buildOciIndex } from '../support/oci-layout.js'
import { pushImage } from '../support/push.js'
import { startRegistry } from '../support/registry.js'
import { applyObjects, shippedWebhookConfigurations, WITH_VALIDATING_WEBHOOK_DIR, withServicePort } from '../support/webhook-configs.js'
import { buildWebhook, startWebhook } from '../support/webhook-process.js'
import { actorTemplate, manifest, storedTemplate, waitForWebhooks } from './harness.js'
import { freePort } from '../support/free-port.js'
import { kubectlOk, writeServiceAccountKubeconfig } from '../support/kubectl-ok.js'

t.setTimeout(10 * 60 * 1000)

const NAMESPACE = 'actortemplate-webhook'
const SERVICE = 'actortemplate-webhook'
const SECRET = 'actortemplate-webhook-certs'
const SERVER_NAME = `${SERVICE}.${NAMESPACE}.svc`
/** The CA is due for rotation this long after it is made (caRenewBeforeDays just under caValidityDays). */
const CA_ROTATES_AFTER_SECONDS = 10

const [cluster, registry] = await Promise.all([
  startCluster({ extraApiServerArgs: ['--service-cluster-ip-range=127.0.100.0/24'] }),
  startRegistry({ mode: 'http' }),
  buildWebhook()
])
t.teardown(() => cluster.stop())
t.teardown(() => registry.close())
const dir = await mkdtemp(join(tmpdir(), 'atw-e2e-certs-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const pause = buildOciImage()
const agent = buildOciIndex()
await Promise.all([installCrd(cluster), pushImage(registry, pause, 'pause', '3.10'), pushImage(registry, agent, 'acme/agent', '1.4')])
const pauseTag = `${registry.host}/pause:3.10`
const agentTag = `${registry.host}/acme/agent:1.4`

const kubectl = async (args: string[], input?: string): Promise<string> => await kubectlOk(cluster, args, input)

interface CertSecret { ca: string, leaf: string, bundle: string, bundleBase64: string }

async function certSecret (): Promise<CertSecret> {
  const secret = JSON.parse(await kubectl(['get', 'secret', SECRET, '-n', NAMESPACE, '-o', 'json'])) as { data?: Record<string, string> }
  const text = (key: string): string => Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8')
  return { ca: text('ca.crt'), leaf: text('tls.crt'), bundle: text('ca-bundle.crt'), bundleBase64: secret.data?.['ca-bundle.crt'] ?? '' }
}

async function caBundles (): Promise<string[]> {
  const bundles: string[] = []
  for (const kind of ['mutatingwebhookconfiguration/pin.actortemplates.ate.dev', 'validatingwebhookconfiguration/validate.actortemplates.ate.dev']) {
    const object = JSON.parse(await kubectl(['get', kind, '-o', 'json'])) as { webhooks: Array<{ clientConfig: { caBundle?: string } }> }
    bundles.push(...object.webhooks.map((webhook) => webhook.clientConfig.caBundle ?? ''))
  }
  return bundles
}

/** The certificate the webhook presents to a client that asks for the Service's name. */
function servedCertificate (host: string, port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, servername: SERVER_NAME, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerCertificate().raw
      socket.end()
      resolve(new X509Certificate(raw))
    })
    socket.once('error', reject)
  })
}


// --- install the shipped objects, then stand in for kube-proxy and for the pod
// Both configurations (issue 16 §2 moved /validate to an overlay): caBundle is published to each.
const installed = await kubectl(['apply', '-k', WITH_VALIDATING_WEBHOOK_DIR])
const clusterIp = (await kubectl(['get', 'service', SERVICE, '-n', NAMESPACE, '-o', 'jsonpath={.spec.clusterIP}'])).trim()
const port = await freePort(clusterIp)
await kubectl(['patch', 'service', SERVICE, '-n', NAMESPACE, '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/spec/ports/0/port', value: port }])])
await applyObjects(cluster, withServicePort(await shippedWebhookConfigurations(cluster), port))

// The shipped configuration as the pod reads it from its ConfigMap; only paths, listening and timing are the test's.
const configMaps = JSON.parse(await kubectl(['get', 'configmap', '-n', NAMESPACE, '-l', 'app.kubernetes.io/name=actortemplate-webhook', '-o', 'json'])) as
  { items: Array<{ metadata: { name: string }, data?: Record<string, string> }> }
const shippedConfig = parse(configMaps.items.find((item) => item.metadata.name.startsWith('actortemplate-webhook-config'))?.data?.['config.yaml'] ?? '') as
  { server: Record<string, unknown>, certificates: Record<string, unknown>, [key: string]: unknown }
const config = {
  ...shippedConfig,
  server: { ...shippedConfig.server, tlsCert: join(dir, 'tls', 'tls.crt'), tlsKey: join(dir, 'tls', 'tls.key'), shutdownDelaySeconds: 0 },
  certificates: {
    ...shippedConfig.certificates,
    // A pod reads its namespace from the service-account mount; this process has none.
    namespace: NAMESPACE,
    caValidityDays: 1,
    caRenewBeforeDays: 1 - CA_ROTATES_AFTER_SECONDS / 86_400,
    leafValidityDays: 1,
    leafRenewBeforeDays: 0.5,
    caBundleSettleSeconds: 2,
    checkIntervalSeconds: 1
  },
  registries: [{ host: registry.host, insecure: true }]
}
const kubeconfig = await writeServiceAccountKubeconfig(cluster, { namespace: NAMESPACE, serviceAccount: SERVICE, file: join(dir, 'webhook.kubeconfig') })
const started = performance.now()
const webhook = await startWebhook({ host: clusterIp, port, config, env: { KUBECONFIG: kubeconfig }, t })
const readyAfterMs = Math.round(performance.now() - started)

t.test('9a. bootstrap: the Secret is filled, caBundle patched into both shipped configurations, admissions succeed', async (t) => {
  t.comment(`kubectl apply -k manifests/overlays/validating-webhook:\n${installed}`)
  t.comment(`the webhook was ready ${readyAfterMs} ms after it started (Secret filled, caBundle confirmed)`)
  const secret = await certSecret()
  const ca = new X509Certificate(secret.ca)
  const leaf = new X509Certificate(secret.leaf)
  t.ok(ca.ca, 'ca.crt is a CA')
  t.ok(leaf.checkIssued(ca), 'tls.crt is signed by it')
  t.match(leaf.subjectAltName, `DNS:${SERVER_NAME}`, 'the serving certificate names the Service')
  t.equal(secret.bundle, secret.ca, 'ca-bundle.crt holds the CA')
  t.same(await caBundles(), [secret.bundleBase64, secret.bundleBase64], 'caBundle of both webhooks is the Secret\'s bundle')
  t.equal((await servedCertificate(clusterIp, port)).fingerprint256, leaf.fingerprint256, 'the process serves the stored certificate')
  t.match(webhook.logs().filter((line) => line.msg === 'caBundle patched'), [{ configurations: Array }], 'the webhook logged the patch')

  await waitForWebhooks(cluster, 'default', pauseTag, `${pauseTag}@${pause.digest}`)
  const created = await cluster.kubectl(['create', '-f', '-'], { input: manifest(actorTemplate('through-service', 'default', pauseTag, [{ name: 'agent', image: agentTag }])) })
  t.equal(created.code, 0, 'an ActorTemplate is admitted through clientConfig.service with the managed CA', { stderr: created.stderr })
  t.equal((await storedTemplate(cluster, 'default', 'through-service'))?.spec.containers?.[0]?.image, `${agentTag}@${agent.digest}`, 'and pinned')
})

t.test('9b. a CA rotation while admissions keep succeeding', async (t) => {
  const first = await certSecret()
  const firstCa = new X509Certificate(first.ca)
  const results: Array<{ code: number | null, stderr: string }> = []
  const deadline = Date.now() + (CA_ROTATES_AFTER_SECONDS + 40) * 1000
  let rotated: { ca: X509Certificate, bundle: string } | undefined
  for (let round = 0; Date.now() < deadline; round++) {
    const dry = await cluster.kubectl(['create', '--dry-run=server', '-f', '-'],
      { input: manifest(actorTemplate(`during-${round}`, 'default', pauseTag, [{ name: 'agent', image: agentTag }])) })
    results.push({ code: dry.code, stderr: dry.stderr })
    const now = await certSecret()
    const ca = new X509Certificate(now.ca)
    if (ca.fingerprint256 !== firstCa.fingerprint256) {
      const served = await servedCertificate(clusterIp, port)
      // Done once the served leaf is signed by the new CA: both steps of the rotation have happened.
      if (served.checkIssued(ca)) {
        rotated = { ca, bundle: now.bundleBase64 }
        break
      }
    }
  }
  t.ok(rotated !== undefined, 'the CA rotated and the served certificate moved to the new CA')
  const failed = results.filter((result) => result.code !== 0)
  t.equal(failed.length, 0, `all ${results.length} admissions during the rotation succeeded`, { failed })
  t.comment(`${results.length} admissions during the rotation, ${failed.length} failed`)
  if (rotated === undefined) return

  const bundle = Buffer.from(rotated.bundle, 'base64').toString('utf8')
  t.ok(bundle.includes(rotated.ca.toString().trim()) && bundle.includes(firstCa.toString().trim()), 'caBundle trusts the new CA and the old one')
  t.same(await caBundles(), [rotated.bundle, rotated.bundle], 'both configurations hold the rotated bundle')
  const actions = webhook.logs().filter((line) => line.msg === 'certificate Secret updated').map((line) => line['action'])
  t.same(actions.slice(0, 3), ['create', 'rotate-ca', 'issue-leaf'], 'create, then rotate-ca, then issue-leaf (after caBundle settled)')
  const origin = webhook.logs()[0]?.time ?? 0
  t.comment(webhook.logs()
    .filter((line) => ['certificate Secret updated', 'caBundle patched', 'serving a new TLS certificate', 'serving certificate files written', 'listening'].includes(line.msg ?? ''))
    .map((line) => `+${(line.time ?? 0) - origin} ms ${line.msg ?? ''} ${String(line['action'] ?? '')}`).join('\n'))
  const after = await cluster.kubectl(['create', '-f', '-'], { input: manifest(actorTemplate('after-rotation', 'default', pauseTag, [{ name: 'agent', image: agentTag }])) })
  t.equal(after.code, 0, 'admitted after the rotation', { stderr: after.stderr })
})
