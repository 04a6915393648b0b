// A CommonJS consumer: compiled to .cjs, so `import` below becomes require().
import assert = require("node:assert/strict");
import test = require("node:test");
import tb = require("@tokenbroker/client");

test("require('@tokenbroker/client') from a CommonJS module", () => {
  assert.match(require.resolve("@tokenbroker/client"), /[\\/]dist[\\/]cjs[\\/]index\.js$/);
  const client = new tb.TokenbrokerClient({ target: "127.0.0.1:1" });
  assert.equal(client.target, "127.0.0.1:1");
  client.close();
  const err = tb.TokenbrokerError.from(new Error("x"));
  assert.ok(err instanceof tb.TokenbrokerError);
  assert.equal(err.code, tb.Code.UNKNOWN);
});
