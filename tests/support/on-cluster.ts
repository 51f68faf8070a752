// Imported for its effect, before any scenario file: every stack this test process starts runs
// on a 3-master Redis Cluster.
import { useCluster } from './backend';

useCluster();
