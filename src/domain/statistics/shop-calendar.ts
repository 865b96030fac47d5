/** A day on the shop's calendar, as 'YYYY-MM-DD'. */
export type LocalDate = string;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

function wallClock(instant: Date, timeZone: string): Record<string, number> {
  const parts: Record<string, number> = {};
  for (const { type, value } of formatterFor(timeZone).formatToParts(instant))
    if (type !== 'literal') parts[type] = Number(value);
  return parts;
}

/** The shop-local day an instant falls on. */
export function localDateOf(instant: Date, timeZone: string): LocalDate {
  const { year, month, day } = wallClock(instant, timeZone);
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** How far the zone's wall clock is ahead of UTC at `instant`, in ms. */
function offsetMs(instant: Date, timeZone: string): number {
  const { year, month, day, hour, minute, second } = wallClock(instant, timeZone);
  return Date.UTC(year!, month! - 1, day, hour, minute, second) - Math.floor(instant.getTime() / 1000) * 1000;
}

/**
 * The instant a shop-local day starts: its 00:00, or, where a DST gap skips 00:00, the first instant
 * after the gap.
 */
export function startOfLocalDay(date: LocalDate, timeZone: string): Date {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const midnightAsUtc = Date.UTC(year, month - 1, day);
  const first = midnightAsUtc - offsetMs(new Date(midnightAsUtc), timeZone);
  // Again with the offset in force at that instant, in case it differs from the one at UTC midnight;
  // unless that lands on the day before, which means 00:00 fell in a gap and `first` is the day's start.
  const second = midnightAsUtc - offsetMs(new Date(first), timeZone);
  return new Date(localDateOf(new Date(second), timeZone) === date ? second : first);
}

/** The day `days` after `date` (negative: before). */
export function addDays(date: LocalDate, days: number): LocalDate {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}

export interface SalesWindow {
  /** The first and last shop-local days counted. */
  readonly firstDay: LocalDate;
  readonly lastDay: LocalDate;
  /** 00:00 local on the first day (inclusive) and on the day after the last (exclusive). */
  readonly from: Date;
  readonly to: Date;
}

/** Today and the `days − 1` days before it, on the shop's calendar. */
export function salesWindow(now: Date, timeZone: string, days = 3): SalesWindow {
  const lastDay = localDateOf(now, timeZone);
  const firstDay = addDays(lastDay, -(days - 1));
  return {
    firstDay,
    lastDay,
    from: startOfLocalDay(firstDay, timeZone),
    to: startOfLocalDay(addDays(lastDay, 1), timeZone),
  };
}
