/**
 * The main thread's side of the horizon's thread (`horizon.ts`): starts it, and again should it end unasked; hears
 * its news (the first horizon, each advance, answers to syncs, failures, its end); hands each advance to the
 * followers; and lets a read wait until the horizon covers the writes that settled before it.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { Advance, FromHorizon, HorizonSettings, ToHorizon } from './horizon.js';

// Contract v1.3: how long a read may wait for the horizon to cover the writes that settled before it (read your writes).
const SYNC_MS = 100;

/** What the thread needs besides the horizon it goes on from. */
export type ThreadSettings = Omit<HorizonSettings, 'horizon'>;

/** The horizon's thread: its compiled module, or from the TypeScript source (the package's own tests) through tsx. */
function startThread(settings: HorizonSettings, port: MessagePort): Worker {
  const options = { workerData: { settings, port }, transferList: [port], resourceLimits: { maxOldGenerationSizeMb: 64 } };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./horizon.js', import.meta.url), options);
  const source = JSON.stringify(new URL('./horizon.ts', import.meta.url).href);
  return new Worker(`import { register } from 'tsx/esm/api'; register(); await import(${source});`, { ...options, eval: true });
}

export class HorizonThread {
  /**
   * The newest committed event below which none can still appear, as this process last heard (what readers may
   * serve); -1: not yet known.
   */
  horizon = -1n;
  /** The id up to which every event is committed or rolled back for good (at or above the horizon): what a sync waits for. */
  private settled = -1n;
  private thread: Worker | undefined;
  private port: MessagePort | undefined;
  private started = false;
  private closed = false;
  private restart: NodeJS.Timeout | undefined;
  private firstHorizon: Promise<void> | undefined;
  private resolveFirst: () => void = () => undefined;
  private resolveClosed: () => void = () => undefined;
  private readonly listeners = new Set<(advance: Advance) => void>();
  // Reads waiting to read their writes: first for the thread's answer to their sync, then until `settled` reaches the id it named.
  private syncs = 0;
  private readonly syncWaiters = new Set<{ id: number; answered: (through: bigint) => void }>();
  private readonly settledWaiters = new Set<{ through: bigint; reached: () => void }>();

  constructor(
    private readonly settings: ThreadSettings,
    private readonly onError: (error: unknown) => void,
  ) {}

  private tell(message: ToHorizon): void {
    this.port?.postMessage(message);
  }

  /** The thread's news: the first horizon, each advance (handed to every follower), failures, its end. */
  private heard(message: FromHorizon): void {
    if (message.kind === 'ready') {
      if (message.horizon > this.horizon) this.horizon = message.horizon;
      this.settle(message.settled);
      this.resolveFirst();
    } else if (message.kind === 'advance') {
      if (message.to <= this.horizon) return;
      this.horizon = message.to;
      for (const listener of this.listeners) listener(message);
    } else if (message.kind === 'settled') {
      this.settle(message.through);
    } else if (message.kind === 'synced') {
      for (const waiter of this.syncWaiters) if (waiter.id <= message.id) waiter.answered(message.through);
    } else if (message.kind === 'error') {
      this.onError(Object.assign(new Error(message.message), { name: message.name, code: message.code }));
    } else {
      this.resolveClosed();
    }
  }

  /** Every id up to `through` is final (the thread sends a lower one after it reconnects): wakes the syncs it covers. */
  private settle(through: bigint): void {
    this.settled = through;
    for (const waiter of this.settledWaiters) if (waiter.through <= through) waiter.reached();
  }

  /**
   * Reads the thread's news now, without waiting for the event loop's turn to deliver it: under load a turn runs a
   * request for each of dozens of connections first (W5: 39 ms at p99 between the thread's post and its delivery).
   * Called by the store at the start and end of each of its calls, so a busy server hands each advance to its
   * followers within one call's work; an idle one gets it from the port's message event at once.
   */
  heed(): void {
    for (let news = this.port && receiveMessageOnPort(this.port); news; news = this.port && receiveMessageOnPort(this.port)) {
      this.heard(news.message as FromHorizon);
    }
  }

  /** Starts the thread; should it ever end unasked, a new one goes on from the horizon this one reached. */
  private spawn(): void {
    const channel = new MessageChannel();
    // The new thread starts over from the horizon, as one that reconnects does.
    this.settled = this.horizon;
    const current = startThread({ ...this.settings, horizon: this.horizon }, channel.port2);
    this.thread = current;
    this.port = channel.port1;
    this.port.on('message', (message: FromHorizon) => this.heard(message));
    current.on('error', this.onError);
    current.on('exit', () => {
      if (this.thread !== current) return;
      this.thread = undefined;
      // What it posted before it went still counts.
      this.heed();
      channel.port1.close();
      this.port = undefined;
      this.resolveClosed();
      if (!this.closed) this.restart = setTimeout(() => this.spawn(), 1_000);
    });
    if (this.listeners.size) this.tell({ kind: 'followers', present: true });
  }

  /** Starts the thread (once); resolves once the first horizon is known. */
  start(): Promise<void> {
    if (!this.started) {
      this.started = true;
      this.firstHorizon = new Promise((resolve) => (this.resolveFirst = resolve));
      this.spawn();
    }
    return this.firstHorizon!;
  }

  /** A write of this process settled (it may have committed): the thread wakes the local readers, and the other processes by NOTIFY. */
  written(): void {
    if (this.started && !this.closed) this.tell({ kind: 'written' });
  }

  /** Adds or removes a follower; the thread reads events ahead for the fan-out only while there are any. */
  follower(listener: (advance: Advance) => void, present: boolean): void {
    const had = this.listeners.size > 0;
    if (present) this.listeners.add(listener);
    else this.listeners.delete(listener);
    if (had !== this.listeners.size > 0) this.tell({ kind: 'followers', present: !had });
  }

  /**
   * Contract v1.3, the feed reads its own writes: waits, at most SYNC_MS, until the horizon covers every event of a
   * write that settled before this call, in any process (the thread reads the sequence after it was asked). It may not
   * when a transaction that wrote an event is still open; its events then follow once it ends.
   */
  caughtUp(): Promise<void> {
    if (!this.port) return Promise.resolve();
    this.syncs += 1;
    const id = this.syncs;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.syncWaiters.delete(waiter);
        this.settledWaiters.delete(target);
        resolve();
      };
      const target = { through: 0n, reached: done };
      const waiter = {
        id,
        answered: (through: bigint) => {
          this.syncWaiters.delete(waiter);
          if (through <= this.settled) return done();
          target.through = through;
          this.settledWaiters.add(target);
        },
      };
      const timer = setTimeout(done, SYNC_MS);
      this.syncWaiters.add(waiter);
      this.tell({ kind: 'sync', id });
    });
  }

  /** Stops the thread: it ends its connection and says so; then it goes. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restart);
    this.resolveFirst();
    const current = this.thread;
    if (!current) return;
    await new Promise<void>((resolve) => {
      this.resolveClosed = resolve;
      this.tell({ kind: 'close' });
    });
    this.thread = undefined;
    await current.terminate();
    this.port?.close();
    this.port = undefined;
  }
}
