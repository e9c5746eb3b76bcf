import {Flags, type Interfaces} from '@oclif/core'

import {usageError} from './errors.js'

/**
 * A flag that takes one of Port's upper-case names (statuses, operations) in any case:
 * `--status success` is `SUCCESS`. oclif's own `options` compare exactly, so the choices are
 * checked here, after upper-casing.
 */
export function upperCaseOption(
  options: readonly string[],
  summary: string,
): Interfaces.OptionFlag<string | undefined> {
  return Flags.custom<string>({
    helpValue: options.join('|'),
    async parse(input) {
      const value = input.toUpperCase()
      if (!options.includes(value))
        throw usageError(
          `Expected one of ${options.join(', ')}; got "${input}".`,
          'Any case works: success or SUCCESS.',
        )
      return value
    },
    summary,
  })()
}
