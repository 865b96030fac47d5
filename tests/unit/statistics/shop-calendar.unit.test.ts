import { describe, expect, it } from 'vitest';
import { addDays, localDateOf, salesWindow, startOfLocalDay } from '../../../src/domain/statistics/shop-calendar.js';

const HOUR_MS = 3_600_000;
const at = (iso: string) => new Date(iso);

describe('localDateOf', () => {
  it('turns the day over at 00:00 KST, which is 15:00 UTC', () => {
    expect(localDateOf(at('2026-11-23T14:59:59.999Z'), 'Asia/Seoul')).toBe('2026-11-23');
    expect(localDateOf(at('2026-11-23T15:00:00.000Z'), 'Asia/Seoul')).toBe('2026-11-24');
  });

  it('is the UTC date in UTC and the local one elsewhere, for the same instant', () => {
    const instant = at('2026-11-23T20:00:00.000Z');
    expect(localDateOf(instant, 'UTC')).toBe('2026-11-23');
    expect(localDateOf(instant, 'Asia/Seoul')).toBe('2026-11-24');
    expect(localDateOf(instant, 'America/New_York')).toBe('2026-11-23');
    expect(localDateOf(at('2026-11-24T04:59:59.999Z'), 'America/New_York')).toBe('2026-11-23');
    expect(localDateOf(at('2026-11-24T05:00:00.000Z'), 'America/New_York')).toBe('2026-11-24');
  });

  it('turns the year over in the shop time zone, not in UTC', () => {
    expect(localDateOf(at('2026-12-31T14:59:59.999Z'), 'Asia/Seoul')).toBe('2026-12-31');
    expect(localDateOf(at('2026-12-31T15:00:00.000Z'), 'Asia/Seoul')).toBe('2027-01-01');
  });
});

describe('startOfLocalDay', () => {
  it.each([
    ['Asia/Seoul', '2026-11-24', '2026-11-23T15:00:00.000Z'],
    ['Asia/Seoul', '2027-01-01', '2026-12-31T15:00:00.000Z'],
    ['UTC', '2026-11-24', '2026-11-24T00:00:00.000Z'],
    ['Asia/Kolkata', '2026-11-24', '2026-11-23T18:30:00.000Z'],
    ['Asia/Kathmandu', '2026-11-24', '2026-11-23T18:15:00.000Z'],
    // New York: EST (−5) before 2026-03-08 02:00 and from 2026-11-01 02:00, EDT (−4) between.
    ['America/New_York', '2026-03-07', '2026-03-07T05:00:00.000Z'],
    ['America/New_York', '2026-03-08', '2026-03-08T05:00:00.000Z'],
    ['America/New_York', '2026-03-09', '2026-03-09T04:00:00.000Z'],
    ['America/New_York', '2026-10-31', '2026-10-31T04:00:00.000Z'],
    ['America/New_York', '2026-11-01', '2026-11-01T04:00:00.000Z'],
    ['America/New_York', '2026-11-02', '2026-11-02T05:00:00.000Z'],
    // Sydney changes at 02:00/03:00 local, between local midnight and UTC midnight: AEDT (+11) until
    // 2026-04-05 03:00, AEST (+10) until 2026-10-04 02:00, AEDT after.
    ['Australia/Sydney', '2026-04-05', '2026-04-04T13:00:00.000Z'],
    ['Australia/Sydney', '2026-04-06', '2026-04-05T14:00:00.000Z'],
    ['Australia/Sydney', '2026-10-04', '2026-10-03T14:00:00.000Z'],
    ['Australia/Sydney', '2026-10-05', '2026-10-04T13:00:00.000Z'],
    // Havana and Santiago skip 00:00 itself: clocks go from 23:59:59 straight to 01:00, so the day
    // starts at 01:00 local.
    ['America/Havana', '2026-03-08', '2026-03-08T05:00:00.000Z'],
    ['America/Santiago', '2026-09-06', '2026-09-06T04:00:00.000Z'],
  ])('in %s, %s starts at %s', (timeZone, date, expected) => {
    const start = startOfLocalDay(date, timeZone);
    expect(start.toISOString()).toBe(expected);
    expect(localDateOf(start, timeZone)).toBe(date);
    expect(localDateOf(new Date(start.getTime() - 1), timeZone)).toBe(addDays(date, -1));
  });

  it('makes the New York days around the DST changes 23 h and 25 h long', () => {
    const length = (date: string) =>
      startOfLocalDay(addDays(date, 1), 'America/New_York').getTime() -
      startOfLocalDay(date, 'America/New_York').getTime();
    expect(length('2026-03-07')).toBe(24 * HOUR_MS);
    expect(length('2026-03-08')).toBe(23 * HOUR_MS);
    expect(length('2026-11-01')).toBe(25 * HOUR_MS);
    expect(length('2026-11-02')).toBe(24 * HOUR_MS);
  });

  it('agrees with localDateOf on every day of a year in several zones', () => {
    for (const timeZone of [
      'Asia/Seoul',
      'UTC',
      'America/New_York',
      'Asia/Kolkata',
      'Asia/Kathmandu',
      'Europe/London',
      'Australia/Sydney',
    ]) {
      let date = '2026-01-01';
      for (let i = 0; i < 366; i++, date = addDays(date, 1)) {
        const start = startOfLocalDay(date, timeZone);
        expect({
          timeZone,
          date,
          day: localDateOf(start, timeZone),
          before: localDateOf(new Date(start.getTime() - 1), timeZone),
        }).toEqual({
          timeZone,
          date,
          day: date,
          before: addDays(date, -1),
        });
      }
    }
  });
});

describe('addDays', () => {
  it.each([
    ['2026-11-24', 0, '2026-11-24'],
    ['2026-11-24', -2, '2026-11-22'],
    ['2026-11-30', 1, '2026-12-01'],
    ['2026-12-01', -1, '2026-11-30'],
    ['2026-12-31', 1, '2027-01-01'],
    ['2027-01-01', -1, '2026-12-31'],
    ['2027-01-01', -2, '2026-12-30'],
    ['2026-02-28', 1, '2026-03-01'],
    ['2028-02-28', 1, '2028-02-29'],
    ['2028-03-01', -1, '2028-02-29'],
    ['2026-03-01', -2, '2026-02-27'],
    ['2026-11-24', 365, '2027-11-24'],
  ])('%s plus %i days is %s', (date, days, expected) => {
    expect(addDays(date, days)).toBe(expected);
  });
});

describe('salesWindow', () => {
  it('is today and the two days before it in KST, from 00:00 of the first to 00:00 tomorrow', () => {
    const window = salesWindow(at('2026-11-24T03:00:00.000Z'), 'Asia/Seoul');
    expect(window).toEqual({
      firstDay: '2026-11-22',
      lastDay: '2026-11-24',
      from: at('2026-11-21T15:00:00.000Z'),
      to: at('2026-11-24T15:00:00.000Z'),
    });
  });

  it('moves to the next days exactly at 00:00 KST', () => {
    const before = salesWindow(at('2026-11-23T14:59:59.999Z'), 'Asia/Seoul');
    const after = salesWindow(at('2026-11-23T15:00:00.000Z'), 'Asia/Seoul');
    expect(before).toMatchObject({
      firstDay: '2026-11-21',
      lastDay: '2026-11-23',
      from: at('2026-11-20T15:00:00.000Z'),
      to: at('2026-11-23T15:00:00.000Z'),
    });
    expect(after).toMatchObject({
      firstDay: '2026-11-22',
      lastDay: '2026-11-24',
      from: at('2026-11-21T15:00:00.000Z'),
      to: at('2026-11-24T15:00:00.000Z'),
    });
  });

  it('crosses a year end', () => {
    expect(salesWindow(at('2027-01-01T00:00:00.000Z'), 'Asia/Seoul')).toEqual({
      firstDay: '2026-12-30',
      lastDay: '2027-01-01',
      from: at('2026-12-29T15:00:00.000Z'),
      to: at('2027-01-01T15:00:00.000Z'),
    });
  });

  it('always holds now, starts on firstDay and ends where the day after lastDay starts, 72 h in KST', () => {
    for (
      let t = Date.parse('2026-11-20T00:00:00.000Z');
      t < Date.parse('2026-11-27T00:00:00.000Z');
      t += 37 * 60_000 + 1_234
    ) {
      const now = new Date(t);
      const window = salesWindow(now, 'Asia/Seoul');
      expect(window.lastDay).toBe(localDateOf(now, 'Asia/Seoul'));
      expect(window.firstDay).toBe(addDays(window.lastDay, -2));
      expect(window.from.getTime()).toBeLessThanOrEqual(t);
      expect(window.to.getTime()).toBeGreaterThan(t);
      expect(localDateOf(window.from, 'Asia/Seoul')).toBe(window.firstDay);
      expect(localDateOf(new Date(window.to.getTime() - 1), 'Asia/Seoul')).toBe(window.lastDay);
      expect(window.to.getTime() - window.from.getTime()).toBe(72 * HOUR_MS);
    }
  });

  it('spans 71 h or 73 h when a New York DST change falls inside it, 72 h otherwise', () => {
    const span = (iso: string) => {
      const { from, to } = salesWindow(at(iso), 'America/New_York');
      return (to.getTime() - from.getTime()) / HOUR_MS;
    };
    expect(span('2026-03-06T17:00:00.000Z')).toBe(72);
    expect(span('2026-03-09T17:00:00.000Z')).toBe(71);
    expect(span('2026-03-11T17:00:00.000Z')).toBe(72);
    expect(span('2026-11-02T17:00:00.000Z')).toBe(73);
    expect(span('2026-11-04T17:00:00.000Z')).toBe(72);
    expect(salesWindow(at('2026-03-09T17:00:00.000Z'), 'America/New_York')).toEqual({
      firstDay: '2026-03-07',
      lastDay: '2026-03-09',
      from: at('2026-03-07T05:00:00.000Z'),
      to: at('2026-03-10T04:00:00.000Z'),
    });
    expect(salesWindow(at('2026-11-02T17:00:00.000Z'), 'America/New_York')).toEqual({
      firstDay: '2026-10-31',
      lastDay: '2026-11-02',
      from: at('2026-10-31T04:00:00.000Z'),
      to: at('2026-11-03T05:00:00.000Z'),
    });
  });

  it('counts more days when asked', () => {
    expect(salesWindow(at('2026-11-24T03:00:00.000Z'), 'Asia/Seoul', 7)).toMatchObject({
      firstDay: '2026-11-18',
      lastDay: '2026-11-24',
      from: at('2026-11-17T15:00:00.000Z'),
    });
    expect(salesWindow(at('2026-11-24T03:00:00.000Z'), 'Asia/Seoul', 1)).toMatchObject({
      firstDay: '2026-11-24',
      lastDay: '2026-11-24',
      from: at('2026-11-23T15:00:00.000Z'),
    });
  });
});
