import type {Run} from '../../../model/port.js'
import {runMayWriteEntities} from '../../auth/access.js'
import {PortalError} from '../../http/errors.js'
import type {Dispatch} from '../../store/store.js'
import type {BackendKit, InvocationMethod, Render} from './backend.js'

/** UPSERT_ENTITY: the portal writes the entity itself, in the run's name. */
export async function upsertEntity(
  kit: BackendKit,
  dispatch: Dispatch,
  run: Run,
  method: InvocationMethod,
  render: Render,
) {
  const blueprintId = String(await render(method.blueprintIdentifier))
  const mapping = (await render(method.mapping ?? {})) as Record<string, unknown>
  await kit.write(async () => {
    try {
      const blueprint = await kit.store.getBlueprint(blueprintId)
      if (!blueprint) throw new PortalError(404, 'not_found', `Blueprint "${blueprintId}" was not found`)
      await runMayWriteEntities(kit.store, run, blueprintId)
      // Credited to whoever started the run (or to the automation), and tied to the run.
      const {entity} = await kit.entities.write(blueprint, mapping as never, {
        actor: run.createdBy,
        mode: 'merge',
        now: kit.clock(),
        runId: run.id,
      })
      await kit.runs.finish(
        run.id,
        {log: `Upserted ${blueprintId} entity "${entity.identifier}"`, status: 'SUCCESS'},
        kit.clock(),
      )
    } catch (error) {
      await kit.runs.finish(
        run.id,
        {
          log: `The entity upsert failed: ${(error as Error).message}`,
          status: 'FAILURE',
          summary: (error as Error).message,
        },
        kit.clock(),
      )
    }
    await kit.store.putDispatch({...dispatch, state: 'done'})
  })
}
