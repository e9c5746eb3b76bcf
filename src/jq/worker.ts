// Worker thread body for WorkerJq: evaluates one expression at a time with the inline engine.
import {parentPort} from 'node:worker_threads'

import {InlineJq, JqEvalError} from './engine.js'

const jq = new InlineJq()
parentPort!.on('message', async ({expression, id, input}: {id: number; expression: string; input: unknown}) => {
  try {
    parentPort!.postMessage({id, value: await jq.first(expression, input)})
  } catch (error) {
    const kind = error instanceof JqEvalError ? error.kind : 'runtime'
    parentPort!.postMessage({error: {kind, message: (error as Error).message}, id})
  }
})
