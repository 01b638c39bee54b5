/**
 * Writes test/e2e/README-output.md: real kubectl sessions against the e2e cluster (kube-apiserver + etcd + kubectl of
 * test/e2e/cluster, the default install's admission objects: the MutatingWebhookConfiguration and the
 * ValidatingAdmissionPolicy of manifests/; the webhook process, real registries), for the README to quote. What users
 * of the default install see: a rule the policy enforces is denied by the policy, with its message (issue 16).
 *
 *   npx tsx test/e2e/record-readme-output.ts --write
 *
 * Without --write it does nothing, so `tap test/e2e` (which runs every file of a directory it is given) cannot
 * overwrite the recording.
 * kubectl runs in a directory holding the manifests, so its messages name `agent.yaml` as a user would see them.
 * Registry ports are the ephemeral loopback ports of the run.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { installCrd, startCluster, type Cluster } from '../support/cluster.js'
import { buildDockerImage, buildOciImage, buildOciIndex } from '../support/oci-layout.js'
import { pushImage } from '../support/push.js'
import { startRegistry } from '../support/registry.js'
import { writeTlsFiles } from '../support/tls.js'
import { applyObjects, MANIFESTS_DIR, shippedPolicy, shippedWebhookConfigurations, withUrlClientConfig } from '../support/webhook-configs.js'
import { startWebhook } from '../support/webhook-process.js'
import { stringify } from 'yaml'
import { actorTemplate, createNamespace, waitForWebhooks, type ActorTemplate } from './harness.js'

const OUTPUT = fileURLToPath(new URL('README-output.md', import.meta.url))

interface Session { title: string, note?: string, files: Array<{ name: string, text: string }>, transcript: string }

function kubectlIn (cluster: Cluster, cwd: string, args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, KUBERC: 'off', KUBECONFIG: cluster.kubeconfig }
    execFile(cluster.kubectlPath, args, { cwd, env, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code === 'string') reject(error)
      else resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr })
    })
  })
}

/** Runs each command and renders it as a terminal would show it: kubectl prints warnings (stderr) before its result. */
async function transcript (cluster: Cluster, cwd: string, commands: string[][]): Promise<string> {
  const lines: string[] = []
  for (const args of commands) {
    const result = await kubectlIn(cluster, cwd, args)
    lines.push(`$ kubectl ${args.map((arg) => /[\s{}'"]/.test(arg) ? `'${arg}'` : arg).join(' ')}`)
    lines.push(...`${result.stderr}${result.stdout}`.split('\n').filter((line, index, all) => line !== '' || index < all.length - 1))
    if (result.code !== 0) lines.push(`# exit code ${result.code}`)
    lines.push('')
  }
  return lines.join('\n').trimEnd()
}

function yamlFile (name: string, template: ActorTemplate): { name: string, text: string } {
  return { name, text: stringify(template) }
}

if (!process.argv.includes('--write')) {
  console.log('usage: npx tsx test/e2e/record-readme-output.ts --write   (rewrites test/e2e/README-output.md)')
  process.exit(0)
}

const cluster = await startCluster()
const work = await mkdtemp(join(tmpdir(), 'atw-readme-'))
const [open, guarded] = await Promise.all([startRegistry({ mode: 'http' }), startRegistry({ mode: 'basic' })])
try {
  await installCrd(cluster)
  const pause = buildOciImage()
  const agent = buildOciIndex()
  await Promise.all([
    pushImage(open, pause, 'pause', '3.10'),
    pushImage(open, agent, 'acme/agent', '1.4'),
    pushImage(open, buildDockerImage(), 'acme/sidecar', '2.0'),
    pushImage(guarded, buildOciImage(), 'acme/private', '1.0')
  ])
  const dockerConfig = join(work, 'config.json')
  await writeFile(dockerConfig, JSON.stringify({ auths: { [guarded.host]: { auth: Buffer.from(`${guarded.username ?? ''}:wrong-password`).toString('base64') } } }))
  const tls = await writeTlsFiles(join(work, 'tls'), { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
  const webhook = await startWebhook({
    tls,
    args: ['--insecure-registry', open.host],
    config: { server: { shutdownDelaySeconds: 0 }, registries: [{ host: guarded.host, caFile: guarded.caFile }], credentials: { dockerConfigFiles: [dockerConfig] } }
  })
  await applyObjects(cluster, [
    ...withUrlClientConfig(await shippedWebhookConfigurations(cluster, MANIFESTS_DIR), { baseUrl: webhook.url, caPem: tls.caPem }),
    ...await shippedPolicy(cluster)
  ])
  await createNamespace(cluster, 'team-a')
  await waitForWebhooks(cluster, 'team-a', `${open.host}/pause:3.10`, `${open.host}/pause:3.10@${pause.digest}`)

  const pauseTag = `${open.host}/pause:3.10`
  const agentTag = `${open.host}/acme/agent:1.4`
  const files = {
    agent: yamlFile('agent.yaml', actorTemplate('agent', 'team-a', pauseTag, [{ name: 'agent', image: agentTag }, { name: 'sidecar', image: `${open.host}/acme/sidecar:2.0` }])),
    applied: yamlFile('applied.yaml', actorTemplate('applied', 'team-a', pauseTag, [{ name: 'agent', image: agentTag }])),
    bad: yamlFile('bad.yaml', actorTemplate('bad', 'team-a', pauseTag, [{ name: 'agent', image: agentTag }, { name: 'pause', image: agentTag }])),
    moved: yamlFile('moved.yaml', actorTemplate('moved', 'team-a', pauseTag, [{ name: 'agent', image: `${open.host}/acme/agent:1.5` }])),
    privateImage: yamlFile('private.yaml', actorTemplate('private', 'team-a', pauseTag, [{ name: 'agent', image: `${guarded.host}/acme/private:1.0` }])),
    later: yamlFile('later.yaml', actorTemplate('later', 'team-a', `${pauseTag}@${pause.digest}`, [{ name: 'agent', image: agentTag }]))
  }
  for (const file of Object.values(files)) await writeFile(join(work, file.name), file.text)

  const sessions: Session[] = []
  sessions.push({
    title: 'Tags are pinned at creation, visibly',
    files: [files.agent],
    transcript: await transcript(cluster, work, [
      ['create', '-f', 'agent.yaml'],
      ['get', 'actortemplate', 'agent', '-n', 'team-a', '-o', 'jsonpath={.spec.containers[0].image}{"\\n"}'],
      ['get', 'actortemplate', 'agent', '-n', 'team-a', '-o', 'jsonpath={.metadata.annotations.ate\\.dev/pinned-images}{"\\n"}']
    ])
  })
  sessions.push({
    title: 'Re-applying the same manifest keeps the stored digests',
    note: 'The first `apply` creates it. Later applies send the tags again (the three-way merge sees digests in the live ' +
      'object, hence "configured"); the webhook keeps the stored digests, so the stored object does not change.',
    files: [files.applied],
    transcript: await transcript(cluster, work, [
      ['apply', '-f', 'applied.yaml'],
      ['apply', '-f', 'applied.yaml'],
      ['get', 'actortemplate', 'applied', '-n', 'team-a', '-o', 'jsonpath={.metadata.generation} {.spec.containers[0].image}{"\\n"}']
    ])
  })
  sessions.push({
    title: 'A container named pause is denied',
    files: [files.bad],
    transcript: await transcript(cluster, work, [['create', '-f', 'bad.yaml']])
  })
  sessions.push({
    title: 'A tag the registry does not have is denied with its answer',
    files: [files.moved],
    transcript: await transcript(cluster, work, [['create', '-f', 'moved.yaml']])
  })
  sessions.push({
    title: 'Wrong registry credentials are denied with the registry\'s answer',
    note: 'The webhook reads a docker config.json (credentials.dockerConfigFiles) whose password for this registry is wrong.',
    files: [],
    transcript: await transcript(cluster, work, [['create', '-f', 'private.yaml']])
  })
  await open.stop()
  // An identical lookup within resolver.burstWindowMs (1 s by default) of an answer reuses it, registry down or not;
  // the sessions above asked for agent:1.4 a moment ago. Wait it out, as any later user would.
  await new Promise((resolve) => setTimeout(resolve, 1500))
  sessions.push({
    title: 'The registry is down',
    files: [],
    transcript: await transcript(cluster, work, [['create', '-f', 'later.yaml']])
  })
  await open.restart()
  await webhook.stop()
  sessions.push({
    title: 'The webhook is down (failurePolicy: Fail)',
    files: [],
    transcript: await transcript(cluster, work, [['create', '-f', 'later.yaml']])
  })

  const version = JSON.parse((await kubectlIn(cluster, work, ['version', '-o', 'json'])).stdout) as
    { clientVersion: { gitVersion: string }, serverVersion: { gitVersion: string } }
  const body = [
    '# Real kubectl output',
    '',
    `Recorded by \`npx tsx test/e2e/record-readme-output.ts --write\` on ${new Date().toISOString().slice(0, 10)}: kubectl ${version.clientVersion.gitVersion}`,
    `against kube-apiserver ${version.serverVersion.gitVersion} (test/e2e/cluster) with the default install's admission objects, the`,
    'MutatingWebhookConfiguration (only clientConfig pointed at the local process) and the ValidatingAdmissionPolicy of manifests/,',
    'and local registries on ephemeral loopback ports. Nothing below is edited.',
    '',
    ...sessions.flatMap((session) => [
      `## ${session.title}`,
      '',
      ...(session.note === undefined ? [] : [session.note, '']),
      ...session.files.flatMap((file) => [`\`${file.name}\`:`, '', '```yaml', file.text.trimEnd(), '```', '']),
      '```console',
      session.transcript,
      '```',
      ''
    ])
  ].join('\n')
  await writeFile(OUTPUT, body)
  console.log(`wrote ${OUTPUT}`)
} finally {
  await Promise.allSettled([open.close(), guarded.close(), cluster.stop(), rm(work, { recursive: true, force: true })])
}
