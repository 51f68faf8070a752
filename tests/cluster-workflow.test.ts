// The newsroom workflow on a real 3-master Redis Cluster: corrections BITOP the earlier revisions'
// bitmaps, quiet hours OR group bitmaps, the kill switch reads a per-alert hash — all within one
// hash tag each; so do the revision transitions and the fan-out's refusals. The scenarios are those of the single-Redis files, imported after the switch.
import './support/on-cluster';
import './workflow-revisions.test';
import './workflow-quiet.test';
// The revision transitions are Lua over one alert's keys: they must run on the cluster as they are.
import './revision-state.test';
import './workflow-bypass.test';
