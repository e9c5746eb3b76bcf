// Loaded with `node --import`: writes the process's peak RSS (KiB) to $IDP_BENCH_MAXRSS on exit.
import {writeFileSync} from 'node:fs'

process.on('exit', () => {
  if (process.env.IDP_BENCH_MAXRSS) writeFileSync(process.env.IDP_BENCH_MAXRSS, String(process.resourceUsage().maxRSS))
})
