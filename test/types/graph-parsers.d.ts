// Test-only parsers without bundled types: just what the graph test uses.
declare module 'dotparser' {
  export default function parse(text: string): {type: string; children: {type: string}[]}[]
}
declare module 'jsdom' {
  export class JSDOM {
    constructor(html: string)
    window: {document: unknown}
  }
}
