// The newsroom workflow on a real 3-master Redis Cluster: corrections BITOP the earlier revisions'
// bitmaps, quiet hours OR group bitmaps, the kill switch reads a per-alert hash, the revision
// transitions run Lua over one alert's keys — all within one hash tag each. The scenarios are
// those of the single-Redis files, imported after the switch.
import './support/on-cluster';
import './workflow-revisions.test';
import './workflow-quiet.test';
import './revision-state.test';
import './workflow-bypass.test';
