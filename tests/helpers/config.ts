import { ConfigError, loadConfig } from '../../src/config'

/** The problems loadConfig finds in `env` (none when it loads); anything but a ConfigError is thrown. */
export function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env)
    return []
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
}
