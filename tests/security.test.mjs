// The package under a strict Content-Security-Policy (no `unsafe-eval`, only `wasm-unsafe-eval`;
// same-origin scripts, Workers and connections): the Worker engine loads the model and answers,
// with no policy violation, and the only requests are the package's own files and the model URL
// it was given (no telemetry, nothing else fetched).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setUp } from './helpers.mjs';

let env;
before(async () => {
  env = await setUp();
});
after(async () => env?.close());

test('under a strict CSP the engine works and fetches only its files and the model', async () => {
  await env.page.goto(`${env.url}/__csp`);
  env.traffic.reset();
  const r = await env.page.evaluate(async () => {
    const violations = [];
    document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.violatedDirective} ${e.blockedURI}`));
    const brasa = await import('/pkg/index.js');
    const engine = await brasa.createEngine();
    await engine.load('/model.gguf', { contextLength: 128 });
    const reply = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, temperature: 0 });
    engine.terminate();
    // The policy is in force: eval is refused (and reported, which is not a failure of brasa's).
    let evalBlocked = false;
    try {
      (0, eval)('1');
    } catch {
      evalBlocked = true;
    }
    return { violations, text: reply.choices[0].message.content, evalBlocked };
  });
  assert.equal(r.evalBlocked, true, 'the page should be under the strict policy');
  assert.deepEqual(r.violations.filter((v) => !v.endsWith(' eval')), []);
  assert.ok(r.text.length > 0);
  const paths = [...env.traffic.byPath.keys()];
  const unexpected = paths.filter((p) => p !== '/model.gguf' && !p.startsWith('/pkg/'));
  assert.deepEqual(unexpected, [], `requests besides the package and the model: ${paths}`);
  assert.ok(paths.includes('/model.gguf'));
});
