import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ThermalStateMachine, type Thresholds } from '../../agent/capacity/index.js';

const TH: Thresholds = { warmC: 60, hotC: 70, criticalC: 80, hardLimitC: 85, hysteresisC: 3 };

test('property: any wobble narrower than the hysteresis around any boundary changes the state at most once', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(TH.warmC, TH.hotC, TH.criticalC),
      fc.double({ min: 0.01, max: TH.hysteresisC - 0.01, noNaN: true }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 2, maxLength: 200 }),
      (boundary, width, xs) => {
        const sm = new ThermalStateMachine(TH);
        const lo = boundary - width / 2;
        let changes = 0;
        let prev = sm.update(lo);
        for (const x of xs) {
          const s = sm.update(lo + x * width);
          if (s !== prev) changes++;
          prev = s;
        }
        return changes <= 1;
      },
    ),
    { numRuns: 300 },
  );
});

test('property: the state never sits below what the temperature demands, nor above it by more than the hysteresis', () => {
  const order = ['cool', 'warm', 'hot', 'critical'];
  const level = (c: number) => [TH.warmC, TH.hotC, TH.criticalC].filter((b) => c >= b).length;
  fc.assert(
    fc.property(fc.array(fc.double({ min: 20, max: 95, noNaN: true }), { minLength: 1, maxLength: 100 }), (temps) => {
      const sm = new ThermalStateMachine(TH);
      for (const t of temps) {
        const l = order.indexOf(sm.update(t));
        assert.ok(l >= level(t), `state ${l} below ${level(t)} at ${t}`);
        assert.ok(l <= level(t + TH.hysteresisC), `state ${l} stuck high at ${t}`);
      }
    }),
    { numRuns: 300 },
  );
});
