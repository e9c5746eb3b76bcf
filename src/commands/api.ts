import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {apiRequest, callApi} from '../services/api-call.js'

export default class Api extends BaseCommand<typeof Api> {
  static override summary = "Call any route of the portal's API with the profile's URL and token."
  static override description = `Like \`gh api\`: PATH is a route of Port's API, with or without its leading /v1 (blueprints, /v1/blueprints/Component/entities). The answer is printed as JSON; --jq filters it.
The method is GET, or POST when fields or --input are given; -X picks another. -f key=value adds a string field, -F key=value a typed one (true, false, null and numbers as JSON; @file reads a file, @- stdin); key[]=v appends to an array and key[sub]=v nests. Fields go into the query string of a GET (or when --input gives the body), into the JSON body otherwise.
--paginate follows Port's "next" cursor (entity search) and prints one answer with the pages' arrays joined.
Errors exit with idp's codes for their HTTP status: 3 for 400/413/422, 4 for 401/403, 5 for 404, 6 for the rest (see "Exit codes" in the README).`
  static override examples = [
    '<%= config.bin %> <%= command.id %> blueprints --jq ".blueprints[].identifier"',
    '<%= config.bin %> <%= command.id %> /v1/blueprints/Component/entities/search -F limit=100 --paginate --jq ".entities | length"',
    '<%= config.bin %> <%= command.id %> blueprints/Component/entities -F upsert=true --input entity.json',
    '<%= config.bin %> <%= command.id %> -X PATCH actions/runs/r_QOz6WoOB1Q2lmhZZ -f status=SUCCESS -f summary=Deployed',
    '<%= config.bin %> <%= command.id %> -X GET audit-log -f entity=CartService -F limit=5',
  ]
  static override args = {
    // ignoreStdin: oclif would take a missing PATH from piped stdin, which here may be the --input body.
    path: Args.string({description: "A route of Port's API (/v1 optional).", ignoreStdin: true, required: true}),
  }
  static override flags = {
    method: Flags.string({char: 'X', summary: 'HTTP method (default GET, or POST with fields or --input).'}),
    input: Flags.string({summary: 'The request body, as JSON, from a file; - reads stdin.'}),
    'raw-field': Flags.string({char: 'f', multiple: true, summary: 'A string field, key=value (repeatable).'}),
    field: Flags.string({char: 'F', multiple: true, summary: 'A typed field, key=value (repeatable).'}),
    header: Flags.string({char: 'H', multiple: true, summary: 'An extra request header, "Name: value".'}),
    paginate: Flags.boolean({summary: 'Follow "next" cursors and join the pages.'}),
  }

  async run(): Promise<unknown> {
    const {client} = await this.connect()
    const request = await apiRequest(
      this.args.path,
      {
        field: this.flags.field,
        header: this.flags.header,
        input: this.flags.input,
        method: this.flags.method,
        paginate: this.flags.paginate,
        rawField: this.flags['raw-field'],
      },
      client.apiUrl,
    )
    const answer = await callApi(client, request, this.flags.paginate)
    if (answer !== undefined) await this.printJson(answer)
    return answer
  }
}
