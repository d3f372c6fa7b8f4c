/**
 * What the host's process needs only once it sends: delivery over the network and the ledger's writer. The client
 * loads this module on its first in-process send (a dynamic import); the bundles ship it as a file of its own
 * (`dist/bundle/send.js`), so a run that never sends in-process (a CLI hands off at exit) does not compile it.
 */
export { deliver } from "./deliver.js";
export { outcomeReason, recordInLedger } from "./ledger.js";
