/** Port's action inputs (`trigger.userInputs`), as the wire carries them; the rules live in domain/. */

export interface JqQuery {
  jqQuery: string
}
export type Dynamic<T> = T | JqQuery

export interface UserInput {
  type: 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array'
  title?: string
  description?: string
  format?: string
  blueprint?: string
  dataset?: {combinator: 'and' | 'or'; rules: unknown[]}
  sort?: {property: string; order?: 'ASC' | 'DESC'}
  default?: unknown
  enum?: Dynamic<unknown[]>
  enumColors?: Record<string, string>
  minLength?: number
  maxLength?: number
  pattern?: Dynamic<string>
  minimum?: number
  maximum?: number
  minItems?: Dynamic<number>
  maxItems?: Dynamic<number>
  items?: Partial<UserInput> & Record<string, unknown>
  properties?: Record<string, unknown>
  required?: string[]
  additionalProperties?: unknown
  patternProperties?: Record<string, unknown>
  visible?: Dynamic<boolean>
  disabled?: Dynamic<boolean>
  dependsOn?: string[]
  encryption?: 'aes256-gcm' | {algorithm: 'client-side'; key: string}
  [key: string]: unknown
}

export interface UserInputs {
  properties: Record<string, UserInput>
  required?: Dynamic<string[]>
  order?: string[]
  steps?: {title: string; order?: string[]; visible?: Dynamic<boolean>}[]
  titles?: Record<string, {title: string; description?: string}>
}
