/**
 * NCRONTAB schedules as the Functions timer trigger reads them: six fields
 * `{second} {minute} {hour} {day} {month} {day-of-week}`, each `*`, a value, a range `a-b`, a step `*∕n`, `a-b∕n`
 * or `a∕n`, or a comma-separated list of those; months and days of the week may be named (`Jan`, `Mon`).
 * Times are UTC (the host's default when `WEBSITE_TIME_ZONE` is unset). As in NCrontab, a time matches when
 * every field matches (day and day-of-week are both required, not either).
 *
 * The TimeSpan form `hh:mm:ss` (an interval, App Service plans only) is accepted too.
 *
 * See https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer#ncrontab-expressions
 */

/** A parsed timer schedule. */
export interface TimerSchedule {
  /** The expression as written. */
  expression: string;
  /** The first occurrence strictly after `afterInMs` (epoch ms), or `undefined` if there is none within 5 years. */
  next(afterInMs: number): number | undefined;
}

/** Thrown for a schedule the host would refuse at startup. */
export class ScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleError';
  }
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] as const;
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

const FIELDS: readonly FieldSpec[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  // 7 is accepted as Sunday, like most cron dialects.
  { name: 'day-of-week', min: 0, max: 7, names: DAYS },
];

const FIVE_YEARS_IN_MS = 5 * 366 * 86_400_000;

/** Parses an NCRONTAB (6-field) or TimeSpan schedule; throws {@link ScheduleError} naming the bad field. */
export function parseSchedule(expression: string): TimerSchedule {
  const trimmed = expression.trim();
  const timeSpan = /^(\d{1,2}):(\d{2}):(\d{2})$/.exec(trimmed);
  if (timeSpan) {
    const intervalInMs = (Number(timeSpan[1]) * 3600 + Number(timeSpan[2]) * 60 + Number(timeSpan[3])) * 1000;
    if (intervalInMs <= 0) throw new ScheduleError(`schedule "${expression}": expected a positive interval`);
    return { expression, next: (after) => after + intervalInMs };
  }
  const parts = trimmed.split(/\s+/);
  if (parts.length !== 6) {
    throw new ScheduleError(
      `schedule "${expression}": expected 6 fields "{second} {minute} {hour} {day} {month} {day-of-week}", found ${parts.length}`,
    );
  }
  const [seconds, minutes, hours, days, months, weekDays] = FIELDS.map((spec, i) =>
    parseField(parts[i] ?? '', spec, expression),
  ) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (weekDays.has(7)) weekDays.add(0);

  return {
    expression,
    next(afterInMs: number): number | undefined {
      // Start at the next whole second, then skip forward by the coarsest field that does not match.
      const t = new Date(Math.floor(afterInMs / 1000) * 1000 + 1000);
      const limit = afterInMs + FIVE_YEARS_IN_MS;
      while (t.getTime() <= limit) {
        if (!months.has(t.getUTCMonth() + 1)) {
          t.setUTCMonth(t.getUTCMonth() + 1, 1);
          t.setUTCHours(0, 0, 0, 0);
        } else if (!days.has(t.getUTCDate()) || !weekDays.has(t.getUTCDay())) {
          t.setUTCDate(t.getUTCDate() + 1);
          t.setUTCHours(0, 0, 0, 0);
        } else if (!hours.has(t.getUTCHours())) {
          t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
        } else if (!minutes.has(t.getUTCMinutes())) {
          t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
        } else if (!seconds.has(t.getUTCSeconds())) {
          t.setUTCSeconds(t.getUTCSeconds() + 1, 0);
        } else {
          return t.getTime();
        }
      }
      return undefined;
    },
  };
}

function parseField(text: string, spec: FieldSpec, expression: string): Set<number> {
  const fail = (why: string): never => {
    throw new ScheduleError(`schedule "${expression}": ${spec.name} field "${text}": ${why}`);
  };
  const value = (token: string): number => {
    const named = spec.names?.indexOf(token.toLowerCase()) ?? -1;
    if (named >= 0) return named + (spec.name === 'month' ? 1 : 0);
    if (!/^\d+$/.test(token)) return fail(`"${token}" is not a number`);
    const n = Number(token);
    if (n < spec.min || n > spec.max) return fail(`${n} is outside ${spec.min}-${spec.max}`);
    return n;
  };
  const result = new Set<number>();
  for (const item of text.split(',')) {
    const m = /^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d+))?$/.exec(item);
    if (!m) return fail('expected *, a value, a range a-b, or a step */n');
    const [, range = '', stepText] = m;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) return fail('the step must be at least 1');
    let from: number;
    let to: number;
    if (range === '*') {
      from = spec.min;
      to = spec.max === 7 ? 6 : spec.max;
    } else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      from = value(a);
      to = value(b);
      if (from > to) return fail(`the range ${from}-${to} is backwards`);
    } else {
      from = value(range);
      // "a/n" means from a to the end of the field, stepping by n.
      to = stepText === undefined ? from : spec.max;
    }
    for (let n = from; n <= to; n += step) result.add(n);
  }
  return result;
}
