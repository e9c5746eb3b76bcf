import {readFileSync} from 'node:fs'

/** A JSON or YAML document from a file, or from stdin for `-`. Read errors are thrown as they are. */
export async function readDataFile(file: string): Promise<unknown> {
  const text = readFileSync(file === '-' ? 0 : file, 'utf8')
  try {
    return JSON.parse(text)
  } catch {
    const {parse} = await import('yaml')
    return parse(text)
  }
}
