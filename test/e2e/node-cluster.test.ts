/**
 * Issue 12 §2: the real-node cluster starts within 90 s from cached binaries, runs a pod from its own registry,
 * nothing in it can reach beyond its network namespace, and stop() gives back everything it took from the machine.
 */
import { existsSync, readFileSync } from 'node:fs'
import t from 'tap'
import { NODE_NETWORK, pauseImage } from '../support/node-configs.js'
import { mountsUnder } from '../support/node-host-state.js'
import { otherLiveClusters } from '../support/node-teardown.js'
import { startNodeCluster } from '../support/node-cluster.js'
import { run } from '../support/netns-process.js'

t.setTimeout(40 * 60 * 1000)

// Machine-wide paths the kubelet, kube-controller-manager, containerd and libcni would create; absent ones must stay so.
const machinePaths = ['/var/lib/kubelet', '/var/lib/cni', '/var/log/containers', '/usr/libexec/kubernetes', '/run/containerd']
const absentBefore = machinePaths.filter((path) => !existsSync(path))
const cluster = await startNodeCluster()
t.teardown(async () => { await cluster.stop() })
t.comment(`real-node cluster start (cached binaries): apiserver ready ${cluster.timings.apiserverReadyMs} ms, node Ready with the pause image pushed ${cluster.timings.readyMs} ms`)

t.test('starts in under 90 s', async (t) => {
  t.ok(cluster.timings.readyMs < 90_000, `started in ${cluster.timings.readyMs} ms`)
})

t.test('a pod from the in-namespace registry runs and is Ready; logs come through the kubelet', async (t) => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'trivial', namespace: 'default' },
    spec: {
      containers: [{
        name: 'pause',
        image: pauseImage,
        securityContext: { runAsNonRoot: true, runAsUser: 65535, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } }
      }]
    }
  }
  // The ServiceAccount controller creates "default" a moment after the namespace exists; pods need it.
  for (let i = 0; i < 60 && (await cluster.kubectl(['get', 'serviceaccount', 'default'])).code !== 0; i++) await new Promise((resolve) => setTimeout(resolve, 500))
  const created = await cluster.kubectl(['create', '-f', '-'], { input: JSON.stringify(pod) })
  t.equal(created.code, 0, created.stderr)
  const ready = await cluster.kubectl(['wait', '--for=condition=Ready', 'pod/trivial', '--timeout=120s'], { timeoutMs: 130_000 })
  if (ready.code !== 0) t.comment(`kubelet:\n${await cluster.componentLog('kubelet', 30)}`)
  t.equal(ready.code, 0, `pod Ready ${ready.stderr}`)
  const ip = await cluster.kubectl(['get', 'pod', 'trivial', '-o', 'jsonpath={.status.podIP}'])
  t.match(ip.stdout, /^10\.244\.0\.\d+$/, 'a pod address from the CNI bridge range')
  const logs = await cluster.kubectl(['logs', 'trivial'])
  t.equal(logs.code, 0, `apiserver → kubelet (x509 client certificate, webhook authorization): ${logs.stderr}`)
})

t.test('nothing leaves the namespace: the default route is a blackhole', async (t) => {
  const route = await cluster.runInNetns(['ip', 'route', 'get', '1.1.1.1'])
  t.match(route.stdout + route.stderr, /unreachable|blackhole|invalid/i)
  const curl = await cluster.runInNetns(['curl', '-sS', '--max-time', '3', 'http://1.1.1.1/'])
  t.not(curl.code, 0, `curl to the outside fails: ${curl.stderr.trim()}`)
})

t.test('stop() gives back the namespace, pods, mounts, cgroups and temp dir', async (t) => {
  const { id, dir } = cluster
  await cluster.stop()
  const netns = await run(['ip', 'netns', 'list'])
  t.notOk(netns.stdout.includes(id), 'network namespace deleted (veths, bridge, iptables rules with it)')
  t.same(mountsUnder(dir), [], 'no mounts left under the cluster dir')
  if (process.env['ATW_KEEP_CLUSTER_DIR'] !== '1') t.notOk(existsSync(dir), 'temp dir removed')
  const hierarchies = readFileSync('/proc/self/mountinfo', 'utf8').includes('/sys/fs/cgroup/memory') ? ['memory', 'cpu', 'pids'] : []
  for (const hierarchy of hierarchies) t.notOk(existsSync(`/sys/fs/cgroup/${hierarchy}/${id}`), `cgroup ${hierarchy}/${id} removed`)
  const others = otherLiveClusters(id)
  if (others.length === 0) {
    for (const path of absentBefore) t.notOk(existsSync(path), `${path} absent before, absent after`)
  } else {
    t.comment(`machine-wide paths and kernel settings are left to the last cluster out: ${others.join(', ')} still running`)
  }
  const shims = await run(['pgrep', '-f', id])
  t.equal(shims.stdout.trim(), '', 'no process of the cluster left')
  t.comment(`node ${NODE_NETWORK.nodeName} (${NODE_NETWORK.nodeIp}) gone with it`)
})
