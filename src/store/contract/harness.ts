/**
 * The contract suite's plumbing: a fresh store per test from the implementation's `open`,
 * and node:test wrappers. The wrappers exist because node:test's describe/it return promises
 * the runner awaits itself; outside *.test.ts files the lint rule would flag them as dropped.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { TernError } from '../../core/errors.js';
import type { Store } from '../store.js';

export type OpenStore = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

/** The store under test; valid inside a test body. */
export interface StoreContext {
  readonly store: Store;
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
  beforeEach(async () => {
    current = await open();
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
