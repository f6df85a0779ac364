/**
 * The Redis peer (test/peers/redis.sh): a redis-server on loopback on a claimed free port, in a
 * temp dir, stopped by PID. `stop()` and `start()` take it down and bring it back on the same
 * port (empty: no persistence) for the fail-closed tests; the state dir goes at the end of the file.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { requirePeers, startPeer, type RunningPeer } from './harness.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'redis.sh');

export interface RunningRedis {
  url: string;
  host: string;
  port: number;
  /** Stops the redis-server (by its PID file); the port stays claimed for start(). */
  stop(): void;
  /** Starts it again on the same address and port. */
  start(): void;
  peer: RunningPeer;
}

export function startRedis(): RunningRedis {
  const peer = startPeer('redis');
  const run = (cmd: string) => execFileSync('bash', [SCRIPT, cmd, peer.state], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000, env: { ...process.env, SPNEGO_NO_APT: '1' } });
  return {
    url: peer.env.REDIS_URL!,
    host: peer.env.REDIS_HOST!,
    port: Number(peer.env.REDIS_PORT),
    stop: () => run('stop'),
    start: () => run('up'),
    peer,
  };
}

/** One redis-server for the test file; `current` stays undefined when it cannot start (needPeer(t, 'redis') skips or fails). */
export function redisForFile(): { current?: RunningRedis } {
  const holder: { current?: RunningRedis } = {};
  before(() => {
    try {
      holder.current = startRedis();
    } catch (e) {
      if (requirePeers) throw e;
    }
  });
  after(() => holder.current?.peer.stop());
  return holder;
}
