import { setFlagsFromString } from 'node:v8'
import type * as UndiciModule from 'undici'

export type Undici = typeof UndiciModule

/**
 * V8 counts the bytes a WebAssembly function executes and, past this budget, recompiles it with TurboFan. undici's
 * HTTP parser is llhttp in WebAssembly, one large state-machine function; that compile mallocs ~23 MB at once and
 * leaves ~9 MB resident for good. A fresh Node 24 with the image's flags, 300 HEAD answers: RSS 94 vs 84 MB, V8's
 * peak malloced memory 28 vs 6 MB. A warm replica (digests cached, few lookups) paid it at its peak under load
 * (issue 17 §3, 8–13 MB). The baseline (Liftoff) code parses the headers of a HEAD answer or a token response in
 * microseconds; the optimised parser would pay off only for bodies this client never reads in bulk. The default
 * budget is 13,000,000; this one takes millions of answers. What it does not change: after thousands of lookups V8's
 * JavaScript compilers malloc as much for undici's own code, with or without it (3,000 HEADs: 120 vs 118 MB).
 */
export const wasmTieringBudgetFlag = '--wasm-tiering-budget=2000000000'

let undici: Promise<Undici> | undefined

/**
 * undici costs a replica 6–8 MB of RSS (issue 17 §3) and is needed only when a digest is not cached: loaded on
 * the first registry (or metadata server) request, once, and shared by every caller. The budget is set before undici
 * compiles its parser, which it does on its first connection; V8 reads it when a module is compiled.
 */
export async function loadUndici (): Promise<Undici> {
  if (undici === undefined) {
    setFlagsFromString(wasmTieringBudgetFlag)
    undici = import('undici')
  }
  return await undici
}
