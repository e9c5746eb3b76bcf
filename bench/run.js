// npm run bench: every benchmark measures idp against a floor measured in the same run.
import {benchPortalWrites} from './portal-writes.js'
import {benchStartup} from './startup.js'

console.log(`idp benchmarks on node ${process.version}, ${new Date().toISOString()}`)
benchStartup()
await benchPortalWrites()
