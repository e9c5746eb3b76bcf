// Worker thread body for WorkerJq: evaluates one expression at a time with the inline engine.
import {parentPort} from 'node:worker_threads'

import {InlineJq, JqEvalError} from './engine.js'

// jq-wasm also prints an abort (out of memory or stack) to stderr; the caller gets it as the
// expression's error, so the portal's log need not carry a bare "Aborted()" line as well.
/* eslint-disable no-console -- wraps the console jq-wasm prints to */
const printError = console.error.bind(console)
console.error = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && args[0].startsWith('Aborted(')) return
  printError(...args)
}
/* eslint-enable no-console */

const jq = new InlineJq()
// Load and compile jq first, then say so and start taking calls (they wait in the port until
// then): a call's time limit starts only once jq is ready, so a worker starting on a busy machine
// does not fail the first expressions.
await jq.first('[.]', null).catch(() => undefined)
parentPort!.postMessage({ready: true})
parentPort!.on('message', async ({expression, id, input}: {id: number; expression: string; input: unknown}) => {
  try {
    parentPort!.postMessage({id, value: await jq.first(expression, input)})
  } catch (error) {
    const kind = error instanceof JqEvalError ? error.kind : 'runtime'
    parentPort!.postMessage({error: {kind, message: (error as Error).message}, id})
  }
})
