/** A WHERE clause built from optional filters; each value is a bound parameter ($1 …), never SQL text. */
export class Where {
  private readonly clauses: string[] = []
  readonly values: unknown[] = []

  /** `column = value`, when the value is given. */
  equal(column: string, value: string | undefined): this {
    return this.compare(`${column} =`, value)
  }

  /** `column <operator> value` (as `at >=`), when the value is given. */
  compare(columnAndOperator: string, value: string | undefined): this {
    if (value) this.clauses.push(`${columnAndOperator} ${this.bind(value)}`)
    return this
  }

  /** `column = ANY(…)`, when the list is not empty. */
  oneOf(column: string, values: string[] | undefined): this {
    if (values?.length) this.clauses.push(`${column} = ANY(${this.bind(values)}::text[])`)
    return this
  }

  /** A clause with no parameters. */
  clause(sql: string): this {
    this.clauses.push(sql)
    return this
  }

  sql(): string {
    return this.clauses.length ? `WHERE ${this.clauses.join(' AND ')}` : ''
  }

  /** The placeholder of the next parameter after these (for a LIMIT). */
  next(): string {
    return `$${this.values.length + 1}`
  }

  private bind(value: unknown): string {
    this.values.push(value)
    return `$${this.values.length}`
  }
}
