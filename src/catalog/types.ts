import type {Action, Blueprint, EntityInput} from '../model/port.js'

export type Severity = 'error' | 'warning'

/** Something wrong with a catalog file, located as precisely as we can. */
export interface Problem {
  severity: Severity
  file: string
  line?: number | undefined
  column?: number | undefined
  /** JSON pointer inside the file (`/2/properties/type` for the third document of an array). */
  pointer?: string | undefined
  message: string
}

/** One document from a catalog file. */
export interface Located<T> {
  file: string
  /** Where the document sits in its file: `""`, or `/N` in an array. */
  at: string
  value: T
}

export type LocalEntity = EntityInput & {identifier: string; blueprint: string}

export interface LocatedEntity extends Located<LocalEntity> {
  /** Whether the blueprint was named by the entity's `blueprint` field or by its folder. */
  blueprintFrom: 'field' | 'folder'
}

export interface LocalCatalog {
  root: string
  files: number
  blueprints: Located<Blueprint>[]
  actions: Located<Action>[]
  entities: LocatedEntity[]
  problems: Problem[]
}
