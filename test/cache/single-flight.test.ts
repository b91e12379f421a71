// SingleFlight.meet with a Deadline, on a manual clock: a waiter whose leaders end with nothing
// to share tries the key's next flight, but its wait over all of them is one bound, not one per
// flight (a flight can take the model's whole timeout: three of them would triple the wait).
import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { AGAIN, Deadline, SingleFlight, awaitFlight } from '../../src/cache/single-flight.js';

describe('SingleFlight.meet', () => {
  it('bounds the wait over every flight tried, and then lets the waiter go alone', async () => {
    const clock = new ManualClock(0);
    const flights = new SingleFlight();
    const first = flights.open('k');
    const deadline = new Deadline(1_000, clock);
    const waited: number[] = [];
    const met = flights
      .meet('k', async (flight) => {
        const shared = await awaitFlight(flight, deadline);
        waited.push(clock.now());
        return shared === AGAIN || shared === null ? shared : 'answer';
      })
      .finally(() => deadline.end());
    await vi.waitFor(() => expect(clock.pending()).toEqual([1_000]));

    clock.advance(900);
    const second = flights.open('k'); // another twin leads the key's next flight before the first ends
    first.share(null); // the first leader ends with nothing to share
    await vi.waitFor(() => expect(waited).toEqual([900]));
    // Waiting on the second flight: the same deadline, 100 ms away, not a new 1000.
    expect(clock.pending()).toEqual([100]);

    clock.advance(100);
    // Past its bound with the second still in flight: it goes alone, outside any flight.
    expect(await met).toEqual({ handle: null });
    expect(waited).toEqual([900, 1_000]);
    expect(clock.pending()).toEqual([]);
    second.share(null);
  });

  it('leads when it finds no flight, and shares what a flight hands it', async () => {
    const clock = new ManualClock(0);
    const flights = new SingleFlight();
    const deadline = new Deadline(1_000, clock);
    const wait = async (flight: Parameters<typeof awaitFlight>[0]) => {
      const shared = await awaitFlight(flight, deadline);
      return shared === AGAIN || shared === null ? shared : shared.kind;
    };
    const led = await flights.meet('k', wait);
    expect('handle' in led && led.handle).toBeTruthy();
    const joined = flights.meet('k', wait);
    if ('handle' in led && led.handle) led.handle.share({ kind: 'pending' } as never);
    expect(await joined).toEqual({ made: 'pending' });
    deadline.end();
    expect(clock.pending()).toEqual([]);
  });
});
