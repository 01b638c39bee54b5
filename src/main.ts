#!/usr/bin/env node
// Only what Node 20 (the machines' default) can parse and run comes before the version check: no static imports, no
// newer syntax. An older Node then gets one clear line instead of a TypeError from some later module.
const minimumMajor = 24
const found = process.versions.node
if (Number(found.split('.')[0]) < minimumMajor) {
  process.stderr.write(`actortemplate-webhook needs Node ${minimumMajor} or newer (found ${found}); run it through npm run cli or the image\n`)
  process.exit(2)
}
await import('./cli/process-main.js')
