// Test support for the online worker: run it on a private topic until the group has
// committed everything, then stop it.
import type { Config } from '../../config/config.js';
import { createKafka } from '../kafka-client.js';
import { waitForGroup } from '../test-support.js';
import { startOnlineWorker, type OnlineWorker } from './worker.js';

export async function runWorkerToEnd(config: Config, prefix: string, groupId: string, timeoutMs = 300_000): Promise<OnlineWorker> {
  const worker = await startOnlineWorker({ config, prefix, groupId });
  try {
    await waitForGroup(createKafka(config, 'test'), groupId, config.topics.events, timeoutMs);
  } finally {
    await worker.stop();
  }
  return worker;
}
