// Loaded with `node --import`: records every module the process resolves into $IDP_TRACE_IMPORTS,
// so tests can prove that --help and --version load no heavy dependency.
import {register} from 'node:module'

register('./trace-imports-hooks.mjs', import.meta.url, {data: {file: process.env.IDP_TRACE_IMPORTS}})
