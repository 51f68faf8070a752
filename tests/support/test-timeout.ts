// Preloaded into every test file by tests/run.ts (--import): gives each test and hook that sets
// no timeout of its own the run's default (DEPECHE_TEST_TIMEOUT_MS), so a hung await fails that
// test by name instead of stalling its file. Node 20's --test-timeout cannot do it: under --test
// it bounds each file as a whole. Tests import `test`, `before`... from node:test; compiled to
// CommonJS they read them off the module object at each call, which is what is replaced here.
import nodeTest from 'node:test';

const ms = Number(process.env.DEPECHE_TEST_TIMEOUT_MS);

type Options = { timeout?: number; [k: string]: unknown };
const isOptions = (v: unknown): v is Options => typeof v === 'object' && v !== null;

/** test(name?, options?, fn?): the same call, with { timeout } added when it has none. */
function testWithDefault(original: typeof nodeTest.test): typeof nodeTest.test {
  const wrapped = (...args: unknown[]): unknown => {
    const name = typeof args[0] === 'string' ? [args.shift()] : [];
    const options = isOptions(args[0]) ? (args.shift() as Options) : {};
    return (original as unknown as (...a: unknown[]) => unknown)(...name, { timeout: ms, ...options }, ...args);
  };
  // test.skip, test.todo and test.only stay reachable on the replacement.
  return Object.assign(wrapped, original);
}

/** before(fn, options?) and the other hooks. */
type Hook = typeof nodeTest.before;
function hookWithDefault(original: Hook): Hook {
  return (fn, options = {}) => original(fn, { timeout: ms, ...options });
}

if (ms > 0) {
  Object.assign(nodeTest, {
    test: testWithDefault(nodeTest.test),
    it: testWithDefault(nodeTest.it),
    before: hookWithDefault(nodeTest.before),
    after: hookWithDefault(nodeTest.after),
    beforeEach: hookWithDefault(nodeTest.beforeEach),
    afterEach: hookWithDefault(nodeTest.afterEach),
  });
}
