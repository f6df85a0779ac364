/**
 * The setup the cluster test files share: this file's Redis (redisForFile), a realm, and two 4-worker
 * services on two loopback addresses (standing for two hosts) sharing that Redis, started in one
 * before hook (node:test may run a file's root hooks concurrently) and stopped after.
 */
import { before, after, type TestContext } from 'node:test';
import { needPeer, notHere } from '../peers/harness.js';
import { redisForFile, type RunningRedis } from '../peers/redis.js';
import { startCluster, type Cluster } from './cluster.js';
import { startClusterRealm, stopClusterRealm, type ClusterRealm } from './realm.js';

export interface ClustersForFile {
  /** This file's redis-server (stop/start it to make an outage). */
  redis: { current?: RunningRedis };
  realm: { current?: ClusterRealm };
  /** Filled by the before hook: the two services. */
  hosts: Cluster[];
  /** Skips (or fails under SPNEGO_REQUIRE_PEERS) without redis-server or the ioredis package. */
  ready(t: TestContext): boolean;
}

export function clustersForFile(realmName: string, addrs: [string, string]): ClustersForFile {
  const redis = redisForFile();
  const out: ClustersForFile = { redis, realm: {}, hosts: [], ready };
  let ioredis = true;
  before(async () => {
    try {
      await import('ioredis' as string);
    } catch {
      ioredis = false; // each test then skips, or fails under SPNEGO_REQUIRE_PEERS (ready)
      return;
    }
    if (!redis.current) return;
    const realm = (out.realm.current = await startClusterRealm(realmName));
    const o = { redisUrl: redis.current.url, namespace: `HTTP/localhost@${realmName}`, keytab: realm.keytab, krb5Config: realm.krb5Config };
    out.hosts.push(...(await Promise.all(addrs.map((host) => startCluster({ ...o, host })))));
  });
  after(async () => {
    await Promise.all(out.hosts.map((c) => c.stop()));
    await stopClusterRealm(out.realm.current);
  });
  function ready(t: TestContext): boolean {
    if (!needPeer(t, 'redis')) return false;
    return ioredis ? true : notHere(t, 'the ioredis dev dependency is not installed (npm ci)');
  }
  return out;
}
