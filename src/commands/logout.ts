import {BaseCommand} from '../base-command.js'
import {ProfileStore} from '../config/profiles.js'
import {resolveTarget} from '../config/session.js'

export default class Logout extends BaseCommand<typeof Logout> {
  static override summary = 'Forget the saved credentials of a profile.'
  static override description =
    'Removes the profile (the current one, or --profile) with its client secret and cached token.'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --profile us']

  async run(): Promise<{profile: string; removed: boolean}> {
    const store = await ProfileStore.open(this.config.configDir)
    const {profileName} = resolveTarget(store, {
      apiUrl: this.flags['api-url'],
      env: process.env,
      profile: this.flags.profile,
    })
    const removed = await store.delete(profileName)
    return this.emit({profile: profileName, removed}, () =>
      this.io.out(removed ? `Removed profile "${profileName}".` : `No saved profile "${profileName}"; nothing to do.`),
    )
  }
}
