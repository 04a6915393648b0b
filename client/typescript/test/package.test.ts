// The dual build: the exports map sends import() to dist/esm and require()
// to dist/cjs, and both expose the same API.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";

const require = createRequire(import.meta.url);

test("import() and require() resolve to the ESM and CJS builds with the same exports", async () => {
  const esm = await import("@tokenbroker/client");
  const cjs = require("@tokenbroker/client") as typeof esm;
  assert.match(import.meta.resolve("@tokenbroker/client"), /\/dist\/esm\/index\.js$/);
  assert.match(require.resolve("@tokenbroker/client"), /\/dist\/cjs\/index\.js$/);
  assert.deepEqual(Object.keys(cjs).sort(), Object.keys(esm).sort());
  for (const name of ["TokenbrokerClient", "TokenSource", "TokenbrokerError", "createAdobeFetch", "adobeAxiosInterceptor"] as const) {
    assert.equal(typeof esm[name], "function", `esm ${name}`);
    assert.equal(typeof cjs[name], "function", `cjs ${name}`);
  }
  assert.equal(esm.Code.NOT_FOUND, 5);
  assert.equal(cjs.Code.NOT_FOUND, 5);
  // One error class as far as instanceof goes, whichever build threw.
  assert.ok(cjs.TokenbrokerError.from(new Error("x")) instanceof esm.TokenbrokerError);
  assert.ok(esm.TokenbrokerError.from(new Error("x")) instanceof cjs.TokenbrokerError);
  assert.ok(!(new Error("x") instanceof esm.TokenbrokerError));
});

test("the stubs subpath works both ways", async () => {
  const esm = await import("@tokenbroker/client/stubs");
  const cjs = require("@tokenbroker/client/stubs") as typeof esm;
  assert.equal(esm.TokenServiceClient.serviceName, "tokenbroker.v1.TokenService");
  assert.equal(cjs.IntegrationServiceClient.serviceName, "tokenbroker.v1.IntegrationService");
  const bytes = esm.ErrorInfo.encode({ reason: "R", domain: "d", metadata: { k: "v" } }).finish();
  assert.deepEqual(cjs.ErrorInfo.decode(bytes), { reason: "R", domain: "d", metadata: { k: "v" } });
});
