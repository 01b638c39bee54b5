import type { Json } from './crd-corpus.js'

/**
 * metadata as users write it, valid and not: names, generateName, labels, annotations, finalizers, owner references
 * and the fields a create must leave to the apiserver. ObjectMeta is not in the CRD's schema (the apiserver validates
 * it itself), so the schema-driven mutants never reach it. Each returns the new metadata for the base's.
 */

type Obj = Record<string, Json>
const long = (length: number): string => 'a'.repeat(length)
const unnamed = (metadata: Obj): Obj => Object.fromEntries(Object.entries(metadata).filter(([key]) => key !== 'name'))

export const metadataVariants: Array<[string, (metadata: Obj) => Obj]> = [
  ['name 253 characters', (m) => ({ ...m, name: `${long(63)}.${long(63)}.${long(63)}.${long(61)}` })],
  ['name 254 characters', (m) => ({ ...m, name: `${long(63)}.${long(63)}.${long(63)}.${long(62)}` })],
  ['name with dots', (m) => ({ ...m, name: 'agent.v2.team-a' })],
  ['name upper case', (m) => ({ ...m, name: 'Agent' })],
  ['name leading dash', (m) => ({ ...m, name: '-agent' })],
  ['name trailing dash', (m) => ({ ...m, name: 'agent-' })],
  ['name double dot', (m) => ({ ...m, name: 'a..b' })],
  ['name a number', (m) => ({ ...m, name: 42 })],
  ['generateName only', (m) => ({ ...unnamed(m), generateName: 'agent-' })],
  ['generateName invalid', (m) => ({ ...unnamed(m), generateName: 'Agent_' })],
  ['generateName and name', (m) => ({ ...m, generateName: 'agent-' })],
  ['labels valid', (m) => ({ ...m, labels: { app: 'agent', 'example.com/tier': 'a.b-c_d', empty: '' } })],
  ['label key with a space', (m) => ({ ...m, labels: { 'bad key': 'x' } })],
  ['label key with two slashes', (m) => ({ ...m, labels: { 'a/b/c': 'x' } })],
  ['label key prefix not a subdomain', (m) => ({ ...m, labels: { 'Example.com/k': 'x' } })],
  ['label key name 64 characters', (m) => ({ ...m, labels: { [long(64)]: 'x' } })],
  ['label value 64 characters', (m) => ({ ...m, labels: { k: long(64) } })],
  ['label value with a space', (m) => ({ ...m, labels: { k: 'a b' } })],
  ['label value a number', (m) => ({ ...m, labels: { k: 1 } })],
  ['labels a list', (m) => ({ ...m, labels: ['a'] })],
  ['annotations valid', (m) => ({ ...m, annotations: { 'example.com/note': 'any text: at all!', 'Capital/Key': 'x' } })],
  ['annotation key invalid', (m) => ({ ...m, annotations: { 'bad key': 'x' } })],
  ['annotations over 256 KiB', (m) => ({ ...m, annotations: { big: 'x'.repeat(256 * 1024) } })],
  ['annotation value null', (m) => ({ ...m, annotations: { k: null } })],
  ['finalizers valid', (m) => ({ ...m, finalizers: ['example.com/cleanup'] })],
  ['finalizer not qualified', (m) => ({ ...m, finalizers: ['cleanup'] })],
  ['finalizer invalid', (m) => ({ ...m, finalizers: ['bad finalizer'] })],
  ['finalizer repeated', (m) => ({ ...m, finalizers: ['example.com/a', 'example.com/a'] })],
  ['ownerReferences valid', (m) => ({ ...m, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: '6f1b8a52-0d3c-4a8e-9f0e-5b7f2d9c1a33' }] })],
  ['ownerReference without uid', (m) => ({ ...m, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner' }] })],
  ['ownerReference without name', (m) => ({ ...m, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', uid: '6f1b8a52-0d3c-4a8e-9f0e-5b7f2d9c1a33' }] })],
  ['ownerReference without apiVersion', (m) => ({ ...m, ownerReferences: [{ kind: 'ConfigMap', name: 'owner', uid: '6f1b8a52-0d3c-4a8e-9f0e-5b7f2d9c1a33' }] })],
  ['ownerReference group without version', (m) => ({ ...m, ownerReferences: [{ apiVersion: 'apps/', kind: 'Deployment', name: 'owner', uid: '6f1b8a52-0d3c-4a8e-9f0e-5b7f2d9c1a33' }] })],
  ['ownerReference without kind', (m) => ({ ...m, ownerReferences: [{ apiVersion: 'v1', name: 'owner', uid: '6f1b8a52-0d3c-4a8e-9f0e-5b7f2d9c1a33' }] })],
  ['two controllers', (m) => ({ ...m, ownerReferences: ['a', 'b'].map((name, index) => ({ apiVersion: 'v1', kind: 'ConfigMap', name, uid: `6f1b8a52-0d3c-4a8e-9f0e-5b7f2d9c1a3${index}`, controller: true })) })],
  ['resourceVersion set', (m) => ({ ...m, resourceVersion: '12345' })],
  ['uid set', (m) => ({ ...m, uid: '6f1b8a52-0d3c-4a8e-9f0e-5b7f2d9c1a33' })],
  ['generation set', (m) => ({ ...m, generation: 7 })],
  ['creationTimestamp set', (m) => ({ ...m, creationTimestamp: '2026-01-01T00:00:00Z' })],
  ['creationTimestamp with a fraction', (m) => ({ ...m, creationTimestamp: '2026-01-01T00:00:00.123+02:00' })],
  ['deletionTimestamp garbage', (m) => ({ ...m, deletionTimestamp: '01/02/2026' })],
  ['label value null', (m) => ({ ...m, labels: { k: null } })],
  ['generateName 60 valid characters', (m) => ({ ...unnamed(m), generateName: `${long(59)}-` })],
  ['generateName ending in a dot', (m) => ({ ...unnamed(m), generateName: 'agent.' })],
  ['creationTimestamp garbage', (m) => ({ ...m, creationTimestamp: 'yesterday' })],
  ['deletionGracePeriodSeconds set', (m) => ({ ...m, deletionGracePeriodSeconds: 30 })],
  ['selfLink set', (m) => ({ ...m, selfLink: '/apis/ate.dev/v1alpha1/x' })],
  ['managedFields set', (m) => ({ ...m, managedFields: [{ manager: 'me', operation: 'Apply', apiVersion: 'ate.dev/v1alpha1', fieldsType: 'FieldsV1', fieldsV1: {} }] })]
]
