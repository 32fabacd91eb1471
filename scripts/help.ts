/**
 * `bun run help`: every script of package.json with its one-line description (the `scripts-info`
 * field, the convention npm-scripts-info reads). `bun run` alone lists the scripts' commands only.
 */
import pkg from '../package.json' with { type: 'json' }

const descriptions: Record<string, string> = pkg['scripts-info']
const names = Object.keys(pkg.scripts)
const width = Math.max(...names.map((name) => name.length))
console.log('bun run <script>\n')
for (const name of names) console.log(`  ${name.padEnd(width)}  ${descriptions[name] ?? '(no description)'}`)
