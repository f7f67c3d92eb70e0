// Test helper (container.test.ts): starts a container peer, prints its id, then waits for a signal.
// The test sends SIGINT and checks that the container is gone.
import { startContainerPeer } from './index.js';

const peer = await startContainerPeer();
console.log(`started ${peer.containerId}`);
setInterval(() => {}, 1_000);
