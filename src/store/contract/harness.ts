/**
 * The contract suite's plumbing: a fresh store per test from the implementation's `open`, a
 * clock tests can stop and move, and node:test wrappers. The wrappers exist because node:test's describe/it return promises
 * the runner awaits itself; outside *.test.ts files the lint rule would flag them as dropped.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { TernError } from '../../core/errors.js';
import type { Clock } from '../../core/types.js';
import type { Store } from '../store.js';

/** Opens a fresh, empty store whose time is `clock`. */
export type OpenStore = (options: { readonly clock: Clock }) => Promise<{ store: Store; cleanup: () => Promise<void> }>;

/** A clock that follows real time until a test pins it; reset before every test. */
export interface TestClock {
  readonly now: Clock;
  /** Stops the clock at `at`. */
  set(at: number): void;
  /** Moves the clock on by `ms` (stopping it first if it was following real time). */
  advance(ms: number): void;
}

function testClock(): TestClock & { follow(): void } {
  let pinned: number | undefined;
  return {
    now: () => pinned ?? Date.now(),
    set: (at) => void (pinned = at),
    advance: (ms) => void (pinned = (pinned ?? Date.now()) + ms),
    follow: () => void (pinned = undefined),
  };
}

/** The store under test and its clock; valid inside a test body. */
export interface StoreContext {
  readonly store: Store;
  readonly clock: TestClock;
}

export function suite(name: string, body: () => void): void {
  void describe(name, body);
}

export function test(name: string, body: () => Promise<void>): void {
  void it(name, body);
}

/** Opens a fresh store before each test of the current suite and cleans it up after. */
export function freshStorePerTest(open: OpenStore): StoreContext {
  let current: { store: Store; cleanup: () => Promise<void> } | undefined;
  const clock = testClock();
  beforeEach(async () => {
    clock.follow();
    current = await open({ clock: clock.now });
  });
  afterEach(async () => {
    const done = current;
    current = undefined;
    await done?.cleanup();
  });
  return {
    get store(): Store {
      assert.ok(current, 'the store is open only inside a test');
      return current.store;
    },
    clock,
  };
}

/** Asserts that `promise` rejects with a TernError of `code`; returns the error. */
export async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<TernError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  return assertCode(caught, code);
}

/** Asserts that `err` is a TernError of `code`; returns it. */
export function assertCode(err: unknown, code: string): TernError {
  assert.ok(err instanceof TernError, `expected a TernError ${code}, got ${String(err)}`);
  assert.equal(err.code, code);
  return err;
}
