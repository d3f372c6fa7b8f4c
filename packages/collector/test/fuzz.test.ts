// Property-based tests (fast-check): the validator never throws, and the server answers every random or mutated
// request with 200 or a 4xx JSON reason — never a 5xx, never a crash.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { startCollector, validateMessage } from "../src/index.js";
import { dltEvent, post, tempDb } from "./helpers.js";

const mutated = fc
  .tuple(
    fc.constantFrom("type", "event", "anonymousId", "userId", "messageId", "timestamp", "properties", "context", "sentAt", "traits", "groupId"),
    fc.anything({ withNullPrototype: false }),
  )
  .map(([key, value]) => ({ ...dltEvent(), [key]: value }));

test("validateMessage never throws on anything, and always names a field when it refuses", () => {
  fc.assert(
    fc.property(fc.oneof(fc.anything(), mutated), (m) => {
      const v = validateMessage(m, "batch[0]");
      if (!v.ok) assert.ok(v.field.length > 0 && v.reason.length > 0);
    }),
    { numRuns: 3000 },
  );
});

for (const plan of ["none", "default"] as const)
  test(`the server answers random and mutated requests with 200 or a 4xx JSON reason, never 5xx (--plan ${plan})`, async () => {
    const c = await startCollector({ port: 0, dbPath: tempDb(), plan });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.record({ batch: fc.array(fc.oneof(mutated, fc.anything()), { maxLength: 5 }) }), fc.anything(), mutated),
          fc.constantFrom("/v1/batch", "/v1/track", "/v1/identify", "/v1/alias"),
          async (body, path) => {
            const r = await post(c.url, path, body);
            assert.ok(r.status === 200 || (r.status >= 400 && r.status < 500), `${r.status} for ${JSON.stringify(body)?.slice(0, 200)}`);
            if (r.status !== 200) assert.equal(typeof r.json["error"], "string");
          },
        ),
        { numRuns: 300 },
      );
      // Any JS string is a valid value, lone UTF-16 surrogates included (JSON carries them, UTF-8 cannot): stored,
      // never a failed commit.
      const units = fc.string({ unit: fc.nat(0xffff).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 20 });
      await fc.assert(
        fc.asyncProperty(units, units, async (event, value) => {
          const r = await post(c.url, "/v1/batch", { batch: [dltEvent({ event, properties: { [value]: value, event_name: value } })] });
          assert.equal(r.status, 200, JSON.stringify(r.json));
        }),
        { numRuns: 100 },
      );
      await fc.assert(
        fc.asyncProperty(fc.string({ maxLength: 300 }), async (raw) => {
          const r = await post(c.url, "/v1/batch", undefined, { raw });
          assert.ok(r.status === 200 || (r.status >= 400 && r.status < 500));
        }),
        { numRuns: 200 },
      );
    } finally {
      await c.close();
    }
  });
