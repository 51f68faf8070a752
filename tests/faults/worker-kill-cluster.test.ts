// The worker-kill scenario again, on a 3-master Redis Cluster (REDIS_CLUSTER_NODES): the API and
// the workers are separate processes talking to the cluster, one worker is SIGKILLed mid-fan-out.
import '../support/on-cluster';
import './worker-kill.test';
