// Loaded with `node --import`: records every module the process resolves into $IDP_TRACE_IMPORTS,
// ES modules through a resolve hook and CommonJS ones (which Node 20's hooks do not see) by
// wrapping require's loader, so tests can prove that --help and --version load no heavy dependency.
import {appendFileSync} from 'node:fs'
import Module, {register} from 'node:module'

const file = process.env.IDP_TRACE_IMPORTS
register('./trace-imports-hooks.mjs', import.meta.url, {data: {file}})

const load = Module._load
Module._load = function (request, parent, isMain) {
  if (file) appendFileSync(file, Module._resolveFilename(request, parent, isMain) + '\n')
  return load.apply(this, arguments)
}
