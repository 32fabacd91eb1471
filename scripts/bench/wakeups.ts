/**
 * What waking up costs on this machine: `bun run bench:wakeups [--count 150] [--gaps 0,1,5,30]`.
 * The same small piece of work (JSON of 2,000 small objects, warmed up first) runs `count` times,
 * with a timer sleep of each gap between runs; it prints the CPU per wake-up (user and system) and
 * how much of it is the work itself.
 *
 * Why it matters (docs/performance.md, "What stands in the way"): a service whose requests wait on
 * a slow database sleeps between its answers, and the benchmark counts CPU per request. On the
 * 2-core VM this project is measured on, the work alone cost 88 µs back to back and 214 µs after a
 * 30 ms sleep, and the whole wake-up 148 against 632 µs: each separate call the service makes to a
 * database that answers in tens of milliseconds costs several times what it costs under load.
 */
import { parseArgs } from 'node:util'

const { values: args } = parseArgs({
  options: { count: { type: 'string', default: '150' }, gaps: { type: 'string', default: '0,1,5,30' } },
})
const COUNT = Number(args.count)
const GAPS = (args.gaps ?? '0').split(',').map(Number)

let sink = 0
const work = () => {
  for (let i = 0; i < 2000; i++) sink += JSON.stringify({ a: i, b: 'x' }).length
}
for (let i = 0; i < 300; i++) work()

const microseconds = (usage: NodeJS.CpuUsage) => usage.user + usage.system
console.log(`bun ${Bun.version}; ${COUNT} wake-ups per gap`)
console.log('gap ms  CPU µs per wake-up  user  system  of which the work')
for (const gap of GAPS) {
  const start = process.cpuUsage()
  let inWork = 0
  for (let n = 0; n < COUNT; n++) {
    const before = process.cpuUsage()
    work()
    inWork += microseconds(process.cpuUsage(before))
    await new Promise((resolve) => setTimeout(resolve, gap))
  }
  const total = process.cpuUsage(start)
  const per = (value: number) => (value / COUNT).toFixed(0).padStart(6)
  console.log(
    `${String(gap).padStart(6)}  ${per(microseconds(total)).padStart(18)}  ${per(total.user)}  ${per(total.system)}  ${per(inWork).padStart(17)}`,
  )
}
if (sink < 0) console.log(sink)
