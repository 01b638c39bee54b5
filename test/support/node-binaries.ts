/**
 * Paths of what the real-node cluster runs, from the scripts that build and cache them (tests never build things
 * themselves): scripts/build-cluster.sh (etcd, kube-apiserver, kubectl), scripts/build-node.sh (kubelet,
 * kube-controller-manager, kube-scheduler, kube-proxy) and scripts/build-pause-image.sh (the sandbox image).
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { buildClusterBinaries, REPO_ROOT } from './cluster.js'

export interface NodeBinaries {
  etcd: string
  kubeApiserver: string
  kubectl: string
  kubelet: string
  kubeControllerManager: string
  kubeScheduler: string
  kubeProxy: string
  /** OCI image layout of the pause image, tag PAUSE_TAG. */
  pauseLayout: string
}

const memo = new Map<string, Promise<string>>()

/** Runs a build script once per process; it prints its output path as the last stdout line. */
function scriptOutput (script: string): Promise<string> {
  let promise = memo.get(script)
  if (promise !== undefined) return promise
  promise = new Promise<string>((resolve, reject) => {
    const child = spawn('bash', [join(REPO_ROOT, 'scripts', script)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
      process.stderr.write(d)
    })
    child.on('error', reject)
    child.on('close', (code) => {
      const last = stdout.trim().split('\n').at(-1)?.trim()
      if (code === 0 && last !== undefined && last !== '') resolve(last)
      else reject(new Error(`scripts/${script} failed (${String(code)}): ${stderr.split('\n').slice(-20).join('\n')}`))
    })
  })
  promise.catch(() => { memo.delete(script) })
  memo.set(script, promise)
  return promise
}

export async function nodeBinaries (): Promise<NodeBinaries> {
  const [cluster, node, pauseLayout] = await Promise.all([
    buildClusterBinaries(),
    scriptOutput('build-node.sh'),
    scriptOutput('build-pause-image.sh')
  ])
  return {
    etcd: join(cluster, 'etcd'),
    kubeApiserver: join(cluster, 'kube-apiserver'),
    kubectl: join(cluster, 'kubectl'),
    kubelet: join(node, 'kubelet'),
    kubeControllerManager: join(node, 'kube-controller-manager'),
    kubeScheduler: join(node, 'kube-scheduler'),
    kubeProxy: join(node, 'kube-proxy'),
    pauseLayout
  }
}
