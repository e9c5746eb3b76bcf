#!/usr/bin/env node
// @oclif/core checks Node against its own engines range when it loads, with semver: 15 ms of
// every command. npm checks idp's range (package.json engines) at install, so turn it off; the
// setting is put back before any command runs, so processes idp starts do not inherit it.
const unset = process.env.OCLIF_DISABLE_ENGINE_WARNING === undefined
if (unset) process.env.OCLIF_DISABLE_ENGINE_WARNING = '1'
const {execute} = await import('@oclif/core')
if (unset) delete process.env.OCLIF_DISABLE_ENGINE_WARNING

await execute({dir: import.meta.url})
