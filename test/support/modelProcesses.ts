/** Model host child processes (processModel.ts) of a process, found through Linux /proc: for tests that check none is left, and the chaos run's model faults. */
import { readdirSync, readFileSync } from 'node:fs';

export function modelHostChildren(parent = process.pid): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === parent && state !== 'Z' && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('modelWorker')) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
