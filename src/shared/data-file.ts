import {readFileSync} from 'node:fs'

/**
 * A JSON or YAML document from a file, or from stdin for `-` (`stdin` reads it all; commands pass
 * their IO's). Read errors are thrown as they are.
 */
export async function readDataFile(
  file: string,
  stdin: () => string = () => readFileSync(0, 'utf8'),
): Promise<unknown> {
  const text = file === '-' ? stdin() : readFileSync(file, 'utf8')
  try {
    return JSON.parse(text)
  } catch {
    const {parse} = await import('yaml')
    return parse(text)
  }
}
