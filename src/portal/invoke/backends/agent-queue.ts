import type {Run} from '../../../model/port.js'
import type {Dispatch} from '../../store/store.js'
import type {BackendKit} from './backend.js'

/** Agent-bound runs wait in the queue that `idp agent` claims from. */
export async function queueForAgent(kit: BackendKit, dispatch: Dispatch, run: Run, payload: Record<string, unknown>) {
  await kit.write(async () => {
    await kit.runs.record(
      run.id,
      {payload, pendingExecution: true},
      kit.clock(),
      'Waiting for an agent to pick the run up',
    )
    await kit.store.putDispatch({...dispatch, state: 'queued'})
  })
}
