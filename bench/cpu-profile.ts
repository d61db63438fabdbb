/**
 * Where a V8 CPU profile spends its time: `node dist/bench/cpu-profile.js <file.cpuprofile> [bench log]`.
 *
 * With a second argument, the stderr of `npm run bench:api` run with BENCH_CPU_PROF, only the
 * samples inside the measured phases' windows count (the lines `<side> <mode>: … window a-b µs`;
 * PROFILE_SIDES=rest,grpc keeps those sides' windows, rest:open only the open-loop phase), so the server's start and the users'
 * preparation stay out. Prints the top PROFILE_TOP (30) functions by self time, the same by
 * inclusive time (the function or anything it called), and self time by package or folder.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const [file, benchLog] = process.argv.slice(2);
if (!file) throw new Error('usage: node dist/bench/cpu-profile.js <file.cpuprofile> [bench log]');
const top = Number(process.env.PROFILE_TOP ?? 30);
const sides = process.env.PROFILE_SIDES?.split(',');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const windows: Array<[number, number]> = [];
if (benchLog) {
  for (const line of readFileSync(benchLog, 'utf8').split('\n')) {
    const m = /bench:api: (\w+) (closed|open): .* window (\d+)-(\d+) µs/.exec(line);
    if (m && (!sides || sides.includes(m[1]!) || sides.includes(`${m[1]}:${m[2]}`))) windows.push([Number(m[3]), Number(m[4])]);
  }
  if (windows.length === 0) throw new Error(`no phase windows in ${benchLog}`);
}
const inWindow = (t: number) => windows.length === 0 || windows.some(([a, b]) => t >= a && t <= b);

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

/** Where a frame's code comes from: a package in node_modules, a folder of the repository, or V8/Node. */
function area(url: string): string {
  if (!url) return '(native / V8)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const repo = /\/dist\/((?:apps|libs|projections|bench)\/[^/]+)/.exec(url);
  if (repo) return repo[1]!;
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  return url;
}
const key = (f: CallFrame) => `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${f.lineNumber + 1}`;

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const areas = new Map<string, number>();
let total = 0;
let t = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  t += profile.timeDeltas[i]!;
  if (!inWindow(t)) continue;
  const node = byId.get(profile.samples[i]!)!;
  if (node.callFrame.functionName === '(idle)') continue;
  total++;
  self.set(key(node.callFrame), (self.get(key(node.callFrame)) ?? 0) + 1);
  areas.set(area(node.callFrame.url), (areas.get(area(node.callFrame.url)) ?? 0) + 1);
  const seen = new Set<string>();
  for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
    const k = key(byId.get(id)!.callFrame);
    if (!seen.has(k)) {
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + 1);
    }
  }
}

const print = (title: string, m: Map<string, number>, n: number) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`);
};
console.log(`${total} busy samples${windows.length ? ` in ${windows.length} phase windows` : ''} (idle samples left out)`);
print('self time by area', areas, top);
print('self time by function', self, top);
print('inclusive time by function', inclusive, top);
