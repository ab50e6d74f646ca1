/**
 * An offline validator for Chrome/Perfetto trace-event JSON.
 *
 * {@link validateChromeTrace} checks a trace (the object `{ traceEvents: [...] }` or a bare
 * array of events) against the rules the viewers rely on, and returns one message per problem
 * (an empty array means valid):
 *
 * - every event is an object with a known phase `ph`, a string `name` (not required on `E`),
 *   integer `pid` and `tid`, and a finite numeric `ts` (not required on `M`);
 * - `X` complete events have a finite `dur` >= 0;
 * - `X` slices on one (pid, tid) nest properly: two slices are either disjoint or one contains
 *   the other;
 * - `B`/`E` pairs are balanced per (pid, tid), an `E` never precedes its `B`;
 * - instant events' scope `s` is `g`, `p` or `t`;
 * - counters (`C`) have at least one argument and every argument is a finite number;
 * - `args`, when present, is an object;
 * - flows: a `bind_id` sits on a slice (`X` or `B`) with `flow_out` or `flow_in`; every flow id
 *   has exactly one `flow_out` slice and at least one `flow_in` slice, and no `flow_in` starts
 *   before its `flow_out`; flow events `s`/`t`/`f` have an `id`, and `s` and `f` ids pair up;
 * - metadata (`M`) events have a known name; `process_name`/`thread_name` carry a string
 *   `args.name`; every pid used by a non-metadata event has a `process_name`, every (pid, tid)
 *   used by a slice or instant has a `thread_name`;
 * - tids are unique: no tid is named (or used) in two processes, and no tid is given two
 *   different names.
 */

/** Phases the validator knows. */
const PHASES: ReadonlySet<string> = new Set([
  'B',
  'E',
  'X',
  'i',
  'I',
  'C',
  'M',
  'b',
  'e',
  'n',
  's',
  't',
  'f',
  'P',
  'O',
  'N',
  'D',
  'R',
  'c',
]);

/** Metadata event names the validator knows. */
const METADATA_NAMES: ReadonlySet<string> = new Set([
  'process_name',
  'process_labels',
  'process_sort_index',
  'thread_name',
  'thread_sort_index',
]);

/** Phases that need a thread (`thread_name` metadata for their (pid, tid)). */
const THREAD_PHASES: ReadonlySet<string> = new Set(['B', 'E', 'X', 'i', 'I']);

/** Slack for comparing microsecond times computed from nanoseconds. */
const EPS = 1e-6;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isFiniteNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** A short name for event `i` in messages. */
function where(i: number, e: Obj): string {
  const name = typeof e.name === 'string' ? ` "${e.name}"` : '';
  const ph = typeof e.ph === 'string' ? e.ph : '?';
  return `event ${i} (${ph}${name})`;
}

interface SliceRef {
  i: number;
  ts: number;
  end: number;
}

/**
 * Checks a Chrome trace against the rules in the module doc. Returns the problems found,
 * in a stable order; an empty array means the trace is valid.
 */
export function validateChromeTrace(json: unknown): string[] {
  const errors: string[] = [];
  let events: unknown[];
  if (Array.isArray(json)) events = json;
  else if (isObj(json) && Array.isArray(json.traceEvents)) {
    events = json.traceEvents;
    const u = json.displayTimeUnit;
    if (u !== undefined && u !== 'ms' && u !== 'ns')
      errors.push(`displayTimeUnit must be "ms" or "ns", got ${JSON.stringify(u)}`);
  } else {
    return ['trace must be an array of events or an object with a traceEvents array'];
  }

  const slices = new Map<string, SliceRef[]>();
  const beginStacks = new Map<string, { i: number; ts: number; name: unknown }[]>();
  const flowOut = new Map<string, { i: number; ts: number }[]>();
  const flowIn = new Map<string, { i: number; ts: number }[]>();
  const flowStart = new Map<string, number>();
  const flowFinish = new Set<string>();
  const processNames = new Set<number>();
  const threadNames = new Map<string, string>();
  const tidOwner = new Map<number, number>();
  const usedPids = new Map<number, number>();
  const usedThreads = new Map<string, number>();

  const claimTid = (pid: number, tid: number, i: number, e: Obj): void => {
    const owner = tidOwner.get(tid);
    if (owner === undefined) tidOwner.set(tid, pid);
    else if (owner !== pid)
      errors.push(`${where(i, e)}: tid ${tid} is used in process ${owner} and process ${pid}`);
  };

  events.forEach((raw, i) => {
    if (!isObj(raw)) {
      errors.push(`event ${i}: not an object`);
      return;
    }
    const e = raw;
    const w = where(i, e);
    const ph = e.ph;
    if (typeof ph !== 'string' || !PHASES.has(ph)) {
      errors.push(`${w}: unknown phase ${JSON.stringify(ph)}`);
      return;
    }
    if (ph !== 'E' && typeof e.name !== 'string') errors.push(`${w}: name must be a string`);
    const pidOk = Number.isInteger(e.pid);
    if (!pidOk) errors.push(`${w}: pid must be an integer`);
    const tidNeeded = THREAD_PHASES.has(ph) || (ph === 'M' && e.name === 'thread_name');
    const tidOk = Number.isInteger(e.tid);
    if (e.tid !== undefined && !tidOk) errors.push(`${w}: tid must be an integer`);
    else if (e.tid === undefined && tidNeeded) errors.push(`${w}: tid is required`);
    if (ph !== 'M' && !isFiniteNum(e.ts)) errors.push(`${w}: ts must be a finite number`);
    if (e.args !== undefined && !isObj(e.args)) errors.push(`${w}: args must be an object`);
    const pid = e.pid as number;
    const tid = e.tid as number;
    const key = `${pid}:${tid}`;
    const ts = isFiniteNum(e.ts) ? e.ts : 0;

    if (ph === 'M') {
      const name = e.name;
      if (typeof name === 'string' && !METADATA_NAMES.has(name)) errors.push(`${w}: unknown metadata name`);
      const args = isObj(e.args) ? e.args : undefined;
      if (name === 'process_name' || name === 'thread_name') {
        if (typeof args?.name !== 'string') errors.push(`${w}: args.name must be a string`);
        else if (pidOk && name === 'process_name') processNames.add(pid);
        else if (pidOk && tidOk) {
          const prev = threadNames.get(key);
          if (prev !== undefined && prev !== args.name) {
            errors.push(`${w}: thread ${tid} of process ${pid} is named both "${prev}" and "${args.name}"`);
          }
          threadNames.set(key, args.name);
          claimTid(pid, tid, i, e);
        }
      }
      if ((name === 'process_sort_index' || name === 'thread_sort_index') && !isFiniteNum(args?.sort_index)) {
        errors.push(`${w}: args.sort_index must be a number`);
      }
      return;
    }

    if (pidOk && !usedPids.has(pid)) usedPids.set(pid, i);
    if (pidOk && tidOk && THREAD_PHASES.has(ph)) {
      if (!usedThreads.has(key)) usedThreads.set(key, i);
      claimTid(pid, tid, i, e);
    }

    switch (ph) {
      case 'X': {
        if (!isFiniteNum(e.dur)) errors.push(`${w}: X event needs a finite numeric dur`);
        else if (e.dur < 0) errors.push(`${w}: dur must be >= 0, got ${e.dur}`);
        else if (isFiniteNum(e.ts)) {
          const list = slices.get(key) ?? [];
          list.push({ i, ts, end: ts + e.dur });
          slices.set(key, list);
        }
        break;
      }
      case 'B': {
        const st = beginStacks.get(key) ?? [];
        st.push({ i, ts, name: e.name });
        beginStacks.set(key, st);
        break;
      }
      case 'E': {
        const st = beginStacks.get(key);
        const b = st?.pop();
        if (b === undefined) errors.push(`${w}: E without a matching B on pid ${pid} tid ${tid}`);
        else {
          if (ts < b.ts - EPS) errors.push(`${w}: E at ${ts} before its B (event ${b.i}) at ${b.ts}`);
          if (typeof e.name === 'string' && e.name !== b.name) {
            errors.push(`${w}: E named "${e.name}" closes B "${String(b.name)}" (event ${b.i})`);
          }
        }
        break;
      }
      case 'i':
      case 'I':
        if (e.s !== undefined && e.s !== 'g' && e.s !== 'p' && e.s !== 't') {
          errors.push(`${w}: instant scope must be "g", "p" or "t", got ${JSON.stringify(e.s)}`);
        }
        break;
      case 'C': {
        const args = isObj(e.args) ? e.args : undefined;
        if (args === undefined || Object.keys(args).length === 0)
          errors.push(`${w}: counter needs numeric args`);
        else {
          for (const [k, v] of Object.entries(args)) {
            if (!isFiniteNum(v))
              errors.push(`${w}: counter arg "${k}" must be a finite number, got ${JSON.stringify(v)}`);
          }
        }
        break;
      }
      case 's':
      case 't':
      case 'f': {
        if (typeof e.id !== 'string' && typeof e.id !== 'number') errors.push(`${w}: flow event needs an id`);
        else if (ph === 's') flowStart.set(String(e.id), i);
        else if (ph === 'f') flowFinish.add(String(e.id));
        break;
      }
      default:
        break;
    }

    // Flow bindings on slices.
    const hasIn = e.flow_in !== undefined;
    const hasOut = e.flow_out !== undefined;
    if (e.bind_id !== undefined || hasIn || hasOut) {
      const id = e.bind_id;
      if (ph !== 'X' && ph !== 'B')
        errors.push(`${w}: bind_id/flow_in/flow_out only belong on X or B slices`);
      else if (typeof id !== 'string' && typeof id !== 'number')
        errors.push(`${w}: flow_in/flow_out without a bind_id`);
      else if (e.flow_in !== true && e.flow_out !== true)
        errors.push(`${w}: bind_id ${id} without flow_in or flow_out`);
      else {
        const k = String(id);
        const add = (m: Map<string, { i: number; ts: number }[]>): void => {
          const l = m.get(k) ?? [];
          l.push({ i, ts });
          m.set(k, l);
        };
        if (e.flow_out === true) add(flowOut);
        if (e.flow_in === true) add(flowIn);
      }
    }
  });

  // X nesting per thread.
  for (const [key, list] of slices) {
    const sorted = [...list].sort((a, b) => a.ts - b.ts || b.end - b.ts - (a.end - a.ts) || a.i - b.i);
    const stack: SliceRef[] = [];
    for (const s of sorted) {
      while (stack.length > 0 && stack[stack.length - 1]!.end <= s.ts + EPS) stack.pop();
      const top = stack[stack.length - 1];
      if (top !== undefined && s.end > top.end + EPS) {
        const [pid, tid] = key.split(':');
        errors.push(
          `event ${s.i}: X slice [${s.ts}, ${s.end}] partly overlaps event ${top.i} [${top.ts}, ${top.end}] on pid ${pid} tid ${tid}`,
        );
        continue;
      }
      stack.push(s);
    }
  }

  for (const [key, st] of beginStacks) {
    for (const b of st) {
      const [pid, tid] = key.split(':');
      errors.push(`event ${b.i}: B without a matching E on pid ${pid} tid ${tid}`);
    }
  }

  for (const [id, outs] of flowOut) {
    if (outs.length > 1)
      errors.push(`flow ${id}: ${outs.length} flow_out slices (events ${outs.map((o) => o.i).join(', ')})`);
    const ins = flowIn.get(id);
    if (ins === undefined) errors.push(`flow ${id}: flow_out (event ${outs[0]!.i}) has no flow_in`);
    else {
      for (const x of ins) {
        if (x.ts < outs[0]!.ts - EPS)
          errors.push(`flow ${id}: flow_in (event ${x.i}) starts before its flow_out (event ${outs[0]!.i})`);
      }
    }
  }
  for (const [id, ins] of flowIn) {
    if (!flowOut.has(id)) errors.push(`flow ${id}: flow_in (event ${ins[0]!.i}) has no flow_out`);
  }
  for (const [id, i] of flowStart) {
    if (!flowFinish.has(id)) errors.push(`flow ${id}: s event ${i} has no f event`);
  }
  for (const id of flowFinish) {
    if (!flowStart.has(id)) errors.push(`flow ${id}: f event has no s event`);
  }

  for (const [pid, i] of usedPids) {
    if (!processNames.has(pid)) errors.push(`event ${i}: pid ${pid} has no process_name metadata`);
  }
  for (const [key, i] of usedThreads) {
    if (!threadNames.has(key)) {
      const [pid, tid] = key.split(':');
      errors.push(`event ${i}: tid ${tid} of pid ${pid} has no thread_name metadata`);
    }
  }
  return errors;
}
