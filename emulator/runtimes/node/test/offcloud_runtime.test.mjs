// Tests for offcloud_runtime.mjs against a fake Runtime API. Run from /work/main with
//   node --test emulator/runtimes/node/test/
// Expected behaviour comes from /work/shared/notes/runtime-clients.md (sections named in each test).

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';

import { ARN, FakeRuntimeApi, TRACE, invocation, run, startClient, writeTree } from './harness.mjs';

const responsePath = (id) => `/2018-06-01/runtime/invocation/${encodeURIComponent(id)}/response`;
const errorPath = (id) => `/2018-06-01/runtime/invocation/${encodeURIComponent(id)}/error`;
const INIT_ERROR = '/2018-06-01/runtime/init/error';
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

// The one POST of a single-invoke run, checked to be a JSON response for request id `id`.
function assertResponse(post, id, body) {
  assert.equal(post.path, responsePath(id));
  assert.equal(post.headers['content-type'], 'application/json');
  assert.equal(post.headers['lambda-runtime-function-error-type'], undefined);
  assert.equal(post.body, body);
}

// An invocation error: exact errorType and errorMessage, `trace` whose first line is given, no error-type header
// (notes §1, §3.3), and an X-Ray cause header that parses.
function assertInvokeError(post, id, { errorType, errorMessage, trace0 }) {
  assert.equal(post.path, errorPath(id));
  assert.equal(post.headers['content-type'], 'application/json');
  assert.equal(post.headers['lambda-runtime-function-error-type'], undefined);
  const doc = JSON.parse(post.body);
  assert.deepEqual(Object.keys(doc), ['errorType', 'errorMessage', 'trace']);
  assert.equal(doc.errorType, errorType);
  assert.equal(doc.errorMessage, errorMessage);
  if (trace0 !== undefined) assert.equal(doc.trace[0], trace0);
  const cause = JSON.parse(post.headers['lambda-runtime-function-xray-error-cause']);
  assert.equal(cause.exceptions[0].type, errorType);
  assert.equal(cause.exceptions[0].message, errorMessage);
  return doc;
}

// An init error run: exit status, one POST to /init/error with the error-type header (notes §1, §3.1).
function assertInitError(result, { code = 129, errorType, errorMessage }) {
  assert.equal(result.code, code, result.stderr + result.stdout);
  assert.equal(result.posts.length, 1);
  const [post] = result.posts;
  assert.equal(post.path, INIT_ERROR);
  assert.equal(post.headers['lambda-runtime-function-error-type'], errorType);
  assert.equal(post.headers['content-type'], 'application/json');
  const doc = JSON.parse(post.body);
  assert.equal(doc.errorType, errorType);
  if (errorMessage instanceof RegExp) assert.match(doc.errorMessage, errorMessage);
  else assert.equal(doc.errorMessage, errorMessage);
  assert.ok(Array.isArray(doc.trace));
  return doc;
}

// A text log line's time, request id, level and message; the message may itself contain tabs.
function splitLogLine(line) {
  const parts = line.split('\t');
  return [...parts.slice(0, 3), parts.slice(3).join('\t')];
}

const once = (files, handler, payload = { n: 1 }, extra = {}) =>
  run({ files, handler, events: [invocation('req-1', payload)], ...extra });

describe('handler styles and completion (notes §3.2)', () => {
  test('a plain function returning a promise', async () => {
    const r = await once({ 'index.js': 'exports.handler = (e) => Promise.resolve({ got: e.n });' }, 'index.handler');
    assertResponse(r.posts[0], 'req-1', '{"got":1}');
  });

  test('an async handler answers at once, leaving its timers running', async () => {
    const r = await once(
      { 'index.js': 'exports.handler = async (e) => { setTimeout(() => {}, 3000); return { async: true }; };' },
      'index.handler',
    );
    assertResponse(r.posts[0], 'req-1', '{"async":true}');
  });

  test('a callback waits for the event loop to drain by default', async () => {
    // The result is serialised when it is sent, so the timer's change shows that the response waited for it.
    const r = await once({
      'index.js': `exports.handler = (e, ctx, cb) => {
        const result = { timer: false, waits: ctx.callbackWaitsForEmptyEventLoop };
        setTimeout(() => { result.timer = true; }, 100);
        cb(null, result);
      };`,
    }, 'index.handler');
    assertResponse(r.posts[0], 'req-1', '{"timer":true,"waits":true}');
  });

  test('a callback with callbackWaitsForEmptyEventLoop = false answers at once', async () => {
    const r = await once({
      'index.js': `exports.handler = (e, ctx, cb) => {
        ctx.callbackWaitsForEmptyEventLoop = false;
        const result = { timer: false };
        setTimeout(() => { result.timer = true; }, 2000);
        cb(null, result);
      };`,
    }, 'index.handler');
    assertResponse(r.posts[0], 'req-1', '{"timer":false}');
  });

  test('only the first completion counts', async () => {
    const r = await once({
      'index.js': `exports.handler = (e, ctx, cb) => { cb(null, 'first'); ctx.succeed('second'); ctx.fail(new Error('x')); };`,
    }, 'index.handler');
    assert.equal(r.posts.length, 1);
    assertResponse(r.posts[0], 'req-1', '"first"');
    assert.match(r.stdout, /\tWARN\tInvocation has already been reported as done\. Cannot call complete more than once per invocation\.\n/);
  });

  test('context.succeed answers at once; context.done with an error reports it', async () => {
    const ok = await once({ 'index.js': 'exports.handler = (e, ctx) => { setTimeout(() => {}, 3000); ctx.succeed([1, 2]); };' }, 'index.handler');
    assertResponse(ok.posts[0], 'req-1', '[1,2]');
    const bad = await once({ 'index.js': `exports.handler = (e, ctx) => ctx.done(new TypeError('nope'));` }, 'index.handler');
    assertInvokeError(bad.posts[0], 'req-1', { errorType: 'TypeError', errorMessage: 'nope', trace0: 'TypeError: nope' });
  });

  test('context.fail() without an argument reports "handled"', async () => {
    const r = await once({ 'index.js': 'exports.handler = (e, ctx) => ctx.fail();' }, 'index.handler');
    assert.equal(r.posts[0].path, errorPath('req-1'));
    assert.equal(r.posts[0].body, '{"errorType":"string","errorMessage":"handled","trace":[]}');
  });

  test('undefined becomes null, and so does a handler that never completes', async () => {
    const r = await once({ 'index.js': 'exports.handler = async () => undefined;' }, 'index.handler');
    assertResponse(r.posts[0], 'req-1', 'null');
    const s = await once({ 'index.js': 'exports.handler = () => { setTimeout(() => {}, 50); };' }, 'index.handler');
    assertResponse(s.posts[0], 'req-1', 'null');
  });

  test('an async handler whose promise never settles gives Runtime.NodeJsExit', async () => {
    const r = await once({ 'index.js': 'exports.handler = async () => { await new Promise(() => {}); };' }, 'index.handler');
    assertInvokeError(r.posts[0], 'req-1', {
      errorType: 'Runtime.NodeJsExit',
      errorMessage: 'The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise that was never settled. For more information, see https://nodejs.org/docs/latest/api/process.html#exit-codes',
    });
  });

  test('an unserialisable result reports "Unable to stringify response body"', async () => {
    const r = await once({ 'index.js': 'exports.handler = async () => { const o = {}; o.self = o; return o; };' }, 'index.handler');
    assertInvokeError(r.posts[0], 'req-1', {
      errorType: 'Error',
      errorMessage: 'Unable to stringify response body',
      trace0: 'Error: Unable to stringify response body',
    });
  });
});

describe('errors (notes §3.3)', () => {
  test('a thrown Error', async () => {
    const r = await once({ 'index.js': `exports.handler = async () => { throw new RangeError('too far'); };` }, 'index.handler');
    const doc = assertInvokeError(r.posts[0], 'req-1', { errorType: 'RangeError', errorMessage: 'too far', trace0: 'RangeError: too far' });
    assert.match(doc.trace[1], /^ {4}at .*index\.js:1:/);
  });

  test('a thrown string', async () => {
    const r = await once({ 'index.js': `exports.handler = () => { throw 'boom'; };` }, 'index.handler');
    assert.equal(r.posts[0].path, errorPath('req-1'));
    assert.equal(r.posts[0].body, '{"errorType":"string","errorMessage":"boom","trace":[]}');
    assert.equal(r.posts[0].headers['content-type'], 'application/json');
  });

  test('a rejected promise, an Error subclass without a name, and the Invoke Error log line', async () => {
    const r = await once({
      'index.js': `class MyError extends Error {}
        exports.handler = () => Promise.reject(Object.assign(new MyError('bad\\nthing'), { code: 'E_BAD' }));`,
    }, 'index.handler');
    assertInvokeError(r.posts[0], 'req-1', { errorType: 'Error', errorMessage: 'bad\nthing', trace0: 'Error: bad' });
    const [ts, id, level, message] = splitLogLine(r.stdout.split('\n').find((l) => l.includes('Invoke Error')));
    assert.match(ts, TIMESTAMP);
    assert.deepEqual([id, level], ['req-1', 'ERROR']);
    assert.ok(message.startsWith('Invoke Error \t{'), message);
    const logged = JSON.parse(message.slice('Invoke Error \t'.length));
    assert.deepEqual(Object.keys(logged), ['errorType', 'errorMessage', 'code', 'stack']);
    assert.equal(logged.code, 'E_BAD');
    assert.equal(logged.stack[0], 'Error: bad');
  });

  test('the request id is URL-encoded in the path', async () => {
    const r = await run({
      files: { 'index.js': `exports.handler = async () => { throw new Error('x'); };` },
      handler: 'index.handler',
      events: [invocation('a/b c', {})],
    });
    assert.equal(r.posts[0].path, '/2018-06-01/runtime/invocation/a%2Fb%20c/error');
  });

  test('an uncaught exception during an invoke is posted for it and exits 129', async () => {
    const r = await run({
      files: { 'index.js': `exports.handler = () => { setTimeout(() => { throw new Error('late'); }, 10); };` },
      handler: 'index.handler',
      events: [invocation('req-1', {})],
      untilExit: true,
    });
    assert.equal(r.code, 129);
    assert.equal(r.posts.length, 1);
    assertInvokeError(r.posts[0], 'req-1', { errorType: 'Error', errorMessage: 'late', trace0: 'Error: late' });
    assert.match(r.stdout, /\treq-1\tERROR\tUncaught Exception \t\{"errorType":"Error","errorMessage":"late"/);
  });

  test('an unhandled rejection during an invoke is posted for it and exits 128', async () => {
    const r = await run({
      files: { 'index.js': `exports.handler = async () => { Promise.reject(new Error('lost')); return 'ok'; };` },
      handler: 'index.handler',
      events: [invocation('req-1', {})],
      untilExit: true,
    });
    assert.equal(r.code, 128);
    const errors = r.posts.filter((p) => p.path === errorPath('req-1'));
    assert.equal(errors.length, 1);
    assertInvokeError(errors[0], 'req-1', {
      errorType: 'Runtime.UnhandledPromiseRejection',
      errorMessage: 'Error: lost',
      trace0: 'Runtime.UnhandledPromiseRejection: Error: lost',
    });
  });
});

describe('init errors (notes §1, §3.1)', () => {
  test('a syntax error', async () => {
    const r = await run({ files: { 'index.js': 'exports.handler = () => {' }, handler: 'index.handler', untilExit: true });
    const doc = assertInitError(r, { errorType: 'Runtime.UserCodeSyntaxError', errorMessage: 'SyntaxError: Unexpected end of input' });
    assert.equal(doc.trace[0], 'Runtime.UserCodeSyntaxError: SyntaxError: Unexpected end of input');
    // The request id is still undefined, and the log says so literally (notes §3.4).
    assert.match(r.stdout, /^\S+\tundefined\tERROR\tUncaught Exception \t\{"errorType":"Runtime.UserCodeSyntaxError"/);
  });

  // Node 20.19+ and 22.12+ detect module syntax in a .js file without a package type and load it as ESM, so the
  // outcome depends on the Node version, as the notes say; older versions fail as on AWS's Node 18 and 20 runtimes.
  test('import syntax in a .js file without "type": "module"', async () => {
    const files = { 'index.js': `import os from 'os';\nexport const handler = async () => typeof os.cpus;` };
    const r = await run({ files, handler: 'index.handler', events: [invocation('req-1', {})], posts: 1 }).catch((e) => e);
    if (r instanceof Error) {
      const init = await run({ files, handler: 'index.handler', untilExit: true });
      assertInitError(init, { errorType: 'Runtime.UserCodeSyntaxError', errorMessage: 'SyntaxError: Cannot use import statement outside a module' });
    } else {
      assertResponse(r.posts[0], 'req-1', '"function"');
    }
  });

  test('a missing module file', async () => {
    const r = await run({ files: { 'other.js': '' }, handler: 'index.handler', untilExit: true });
    assertInitError(r, { errorType: 'Runtime.ImportModuleError', errorMessage: /^Error: Cannot find module 'index'\nRequire stack:\n- .*offcloud_runtime\.mjs$/ });
  });

  test('a missing dependency of a CommonJS handler', async () => {
    const r = await run({ files: { 'index.js': `require('not-installed'); exports.handler = () => 1;` }, handler: 'index.handler', untilExit: true });
    assertInitError(r, { errorType: 'Runtime.ImportModuleError', errorMessage: /^Error: Cannot find module 'not-installed'\nRequire stack:/ });
  });

  test('a missing dependency of an ES module is rethrown as it is', async () => {
    const r = await run({ files: { 'index.mjs': `import 'not-installed';\nexport const handler = () => 1;` }, handler: 'index.handler', untilExit: true });
    assertInitError(r, { errorType: 'Error', errorMessage: /^Cannot find package 'not-installed' imported from / });
  });

  test('a missing handler', async () => {
    const r = await run({ files: { 'index.js': 'exports.other = () => 1;' }, handler: 'index.handler', untilExit: true });
    assertInitError(r, { errorType: 'Runtime.HandlerNotFound', errorMessage: 'index.handler is undefined or not exported' });
  });

  test('a handler that is not a function', async () => {
    const r = await run({ files: { 'index.js': 'exports.api = { handler: 42 };' }, handler: 'index.api.handler', untilExit: true });
    assertInitError(r, { errorType: 'Runtime.HandlerNotFound', errorMessage: 'index.api.handler is not a function' });
  });

  test('malformed handler names', async () => {
    const bad = await run({ files: { 'index.js': '' }, handler: 'index', untilExit: true });
    assertInitError(bad, { errorType: 'Runtime.MalformedHandlerName', errorMessage: 'Bad handler' });
    const dots = await run({ files: { 'index.js': '' }, handler: '../index.handler', untilExit: true });
    assertInitError(dots, {
      errorType: 'Runtime.MalformedHandlerName',
      errorMessage: "'../index.handler' is not a valid handler name. Use absolute paths when specifying root directories in handler names.",
    });
  });

  test('any other error thrown at load is reported unchanged', async () => {
    const r = await run({ files: { 'index.js': `throw new TypeError('config missing');` }, handler: 'index.handler', untilExit: true });
    assertInitError(r, { errorType: 'TypeError', errorMessage: 'config missing' });
  });

  test('an unhandled rejection during init exits 128', async () => {
    const r = await run({
      files: { 'index.mjs': `Promise.reject(new Error('early'));\nexport const handler = () => 1;` },
      handler: 'index.handler',
      untilExit: true,
    });
    assertInitError(r, { code: 128, errorType: 'Runtime.UnhandledPromiseRejection', errorMessage: 'Error: early' });
  });
});

describe('handler resolution (notes §3.1)', () => {
  test('CommonJS .js', async () => {
    const r = await once({ 'app.js': `exports.main = async () => typeof require;` }, 'app.main');
    assertResponse(r.posts[0], 'req-1', '"function"');
  });

  test('.cjs', async () => {
    const r = await once({ 'app.cjs': `module.exports.main = async () => 'cjs';` }, 'app.main');
    assertResponse(r.posts[0], 'req-1', '"cjs"');
  });

  test('.mjs with top-level await finished before the first invoke', async () => {
    const r = await once({
      'app.mjs': `const ready = await new Promise((r) => setTimeout(() => r('ready'), 100));
        export const main = async () => ({ ready, esm: typeof require });`,
    }, 'app.main');
    assertResponse(r.posts[0], 'req-1', '{"ready":"ready","esm":"undefined"}');
  });

  test('.js as an ES module under "type": "module"', async () => {
    const r = await once({
      'package.json': '{"type":"module"}',
      'app.js': `export const main = async () => import.meta.url.endsWith('/app.js');`,
    }, 'app.main');
    assertResponse(r.posts[0], 'req-1', 'true');
  });

  test('an extensionless file comes before .js, and .js before .mjs and .cjs', async () => {
    const r = await once({
      app: `exports.main = async () => 'extensionless';`,
      'app.js': `exports.main = async () => 'js';`,
    }, 'app.main');
    assertResponse(r.posts[0], 'req-1', '"extensionless"');
    const s = await once({
      'app.js': `exports.main = async () => 'js';`,
      'app.mjs': `export const main = async () => 'mjs';`,
      'app.cjs': `exports.main = async () => 'cjs';`,
    }, 'app.main');
    assertResponse(s.posts[0], 'req-1', '"js"');
    const t = await once({
      'app.mjs': `export const main = async () => 'mjs';`,
      'app.cjs': `exports.main = async () => 'cjs';`,
    }, 'app.main');
    assertResponse(t.posts[0], 'req-1', '"mjs"');
  });

  test('a nested dir/file.fn handler, and a nested property path', async () => {
    const r = await once({ 'src/lambda/app.js': `exports.main = async () => __filename.endsWith('src/lambda/app.js');` }, 'src/lambda/app.main');
    assertResponse(r.posts[0], 'req-1', 'true');
    const s = await once({ 'index.js': `exports.api = { v1: { handler: async () => 'nested' } };` }, 'index.api.v1.handler');
    assertResponse(s.posts[0], 'req-1', '"nested"');
    const t = await once({ 'index.mjs': `export default async () => 'default';` }, 'index.default');
    assertResponse(t.posts[0], 'req-1', '"default"');
  });

  test('NODE_PATH resolves packages for require and for ES module imports', async () => {
    const root = writeTree({
      'layer/nodejs/node_modules/greeter/index.js': `exports.greet = (n) => 'hello ' + n;`,
      'layer/nodejs/node_modules/esm-greeter/package.json': '{"type":"module","exports":"./main.js"}',
      'layer/nodejs/node_modules/esm-greeter/main.js': `export const greet = (n) => 'hi ' + n;`,
    });
    const env = { NODE_PATH: ['/nonexistent', path.join(root, 'layer/nodejs/node_modules')].join(':') };
    const cjs = await once({ 'index.js': `const { greet } = require('greeter'); exports.handler = async (e) => greet(e.n);` },
      'index.handler', { n: 1 }, { env, root: path.join(root, 'cjs') });
    assertResponse(cjs.posts[0], 'req-1', '"hello 1"');
    const esm = await once({
      'index.mjs': `import { greet } from 'esm-greeter';\nimport g from 'greeter';\nexport const handler = async (e) => [greet(e.n), g.greet(e.n)];`,
    }, 'index.handler', { n: 2 }, { env, root: path.join(root, 'esm') });
    assertResponse(esm.posts[0], 'req-1', '["hi 2","hello 2"]');
  });
});

describe('context and environment (notes §1, §3.5)', () => {
  test('context fields and getRemainingTimeInMillis from the deadline header', async () => {
    const deadline = Date.now() + 10_000;
    const r = await run({
      files: {
        'index.js': `exports.handler = async (e, ctx) => {
          const { getRemainingTimeInMillis, succeed, fail, done, ...fields } = ctx;
          return { fields, remaining: ctx.getRemainingTimeInMillis(), fns: [succeed, fail, done].map((f) => typeof f) };
        };`,
      },
      handler: 'index.handler',
      events: [invocation('req-1', {}, {
        'Lambda-Runtime-Deadline-Ms': String(deadline),
        'Lambda-Runtime-Client-Context': '{"custom":{"k":"v"},"env":{"platform":"x"}}',
        'Lambda-Runtime-Cognito-Identity': '{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}',
      })],
    });
    const got = JSON.parse(r.posts[0].body);
    assert.deepEqual(got.fields, {
      callbackWaitsForEmptyEventLoop: true,
      functionVersion: '$LATEST',
      functionName: 'fn',
      memoryLimitInMB: '128',
      logGroupName: '/aws/lambda/fn',
      logStreamName: '2024/01/01/[$LATEST]0123456789abcdef',
      clientContext: { custom: { k: 'v' }, env: { platform: 'x' } },
      identity: { cognitoIdentityId: 'id-1', cognitoIdentityPoolId: 'pool-1' },
      invokedFunctionArn: ARN,
      awsRequestId: 'req-1',
    });
    assert.deepEqual(got.fns, ['function', 'function', 'function']);
    assert.ok(got.remaining > 8_000 && got.remaining <= 10_000, String(got.remaining));
  });

  test('the remaining time is not clamped at zero', async () => {
    const r = await run({
      files: { 'index.js': 'exports.handler = async (e, ctx) => ctx.getRemainingTimeInMillis();' },
      handler: 'index.handler',
      events: [invocation('req-1', {}, { 'Lambda-Runtime-Deadline-Ms': String(Date.now() - 5_000) })],
    });
    assert.ok(Number(r.posts[0].body) <= -5_000, r.posts[0].body);
  });

  test('a client context that is not JSON fails the invoke', async () => {
    const r = await run({
      files: { 'index.js': 'exports.handler = async () => 1;' },
      handler: 'index.handler',
      events: [invocation('req-1', {}, { 'Lambda-Runtime-Client-Context': 'eyJ9' })],
    });
    const doc = JSON.parse(r.posts[0].body);
    assert.equal(doc.errorType, 'Error');
    assert.match(doc.errorMessage, /^Cannot parse ClientContext as json: /);
  });

  test('_X_AMZN_TRACE_ID is set from the header and deleted when it is absent, in the same process', async () => {
    const files = {
      'index.js': `let count = 0;
        exports.handler = async () => ({ trace: process.env._X_AMZN_TRACE_ID ?? null, count: ++count, pid: process.pid });`,
    };
    const second = invocation('req-2', {});
    delete second.headers['Lambda-Runtime-Trace-Id'];
    const r = await run({ files, handler: 'index.handler', events: [invocation('req-1', {}), second] });
    assert.equal(r.posts.length, 2);
    const [a, b] = r.posts.map((p) => JSON.parse(p.body));
    assert.equal(r.posts[0].path, responsePath('req-1'));
    assert.equal(r.posts[1].path, responsePath('req-2'));
    assert.deepEqual([a.trace, a.count], [TRACE, 1]);
    assert.deepEqual([b.trace, b.count], [null, 2]);
    assert.equal(a.pid, b.pid);
  });

  test('awslambda.streamifyResponse fails clearly', async () => {
    const r = await once({ 'index.mjs': 'export const handler = awslambda.streamifyResponse(async (e, stream) => stream.end());' }, 'index.handler');
    assertInvokeError(r.posts[0], 'req-1', { errorType: 'Error', errorMessage: 'response streaming is not supported by Offcloud yet' });
  });
});

describe('logging (notes §3.4)', () => {
  const files = {
    'index.js': `console.log('at init');
      exports.handler = async () => {
        console.log('hello', { a: 1 }, 'multi\\nline');
        console.info('info'); console.debug('debug'); console.trace('trace');
        console.warn('warn'); console.error('error'); console.fatal('fatal');
        return 1;
      };`,
  };

  test('text lines carry the time, request id and level, with newlines as \\r', async () => {
    const r = await once(files, 'index.handler');
    const lines = r.stdout.split('\n');
    assert.equal(lines.pop(), '');
    const parsed = lines.map(splitLogLine);
    for (const [ts] of parsed) assert.match(ts, TIMESTAMP);
    assert.deepEqual(parsed.map((p) => p.slice(1)), [
      ['undefined', 'INFO', 'at init'],
      ['req-1', 'INFO', 'hello { a: 1 } multi\rline'],
      ['req-1', 'INFO', 'info'],
      ['req-1', 'DEBUG', 'debug'],
      ['req-1', 'TRACE', 'trace'],
      ['req-1', 'WARN', 'warn'],
      ['req-1', 'ERROR', 'error'],
      ['req-1', 'FATAL', 'fatal'],
    ]);
    assert.equal(r.stderr, '');
  });

  test('AWS_LAMBDA_LOG_LEVEL filters lower levels', async () => {
    const r = await once(files, 'index.handler', {}, { env: { AWS_LAMBDA_LOG_LEVEL: 'warn' } });
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => splitLogLine(l).slice(2)), [['WARN', 'warn'], ['ERROR', 'error'], ['FATAL', 'fatal']]);
  });

  test('AWS_LAMBDA_LOG_FORMAT=JSON', async () => {
    const r = await once({
      'index.js': `exports.handler = async () => {
        console.log({ a: 1 });
        console.info('n=%d', 5);
        console.warn('failed:', new RangeError('bad'));
        throw 'boom';
      };`,
    }, 'index.handler', {}, { env: { AWS_LAMBDA_LOG_FORMAT: 'JSON' } });
    const records = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    for (const rec of records) assert.match(rec.timestamp, TIMESTAMP);
    assert.deepEqual(records.map(({ timestamp, stackTrace, ...rest }) => rest), [
      { level: 'INFO', requestId: 'req-1', message: { a: 1 } },
      { level: 'INFO', requestId: 'req-1', message: 'n=5' },
      {
        level: 'WARN', requestId: 'req-1', message: records[2].message,
        errorType: 'RangeError', errorMessage: 'bad',
      },
      { level: 'ERROR', requestId: 'req-1', message: 'boom' },
    ]);
    assert.match(records[2].message, /^failed: RangeError: bad\n/);
    assert.equal(records[2].stackTrace[0], 'RangeError: bad');
  });
});

describe('robustness', () => {
  test('a Runtime API that goes away ends the process with a clear message', async () => {
    const api = new FakeRuntimeApi();
    const address = await api.start();
    const client = startClient({ api: address, taskRoot: writeTree({ 'index.js': 'exports.handler = async () => 1;' }), handler: 'index.handler' });
    try {
      // Wait for the long-poll to arrive, then drop it.
      for (let i = 0; i < 200 && api.parked.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(api.parked.length, 1);
      await api.close();
      const { code, stderr } = await client.exited;
      assert.equal(code, 1);
      assert.match(stderr, /^offcloud-runtime: lost the Runtime API at 127\.0\.0\.1:\d+ \(GET \/invocation\/next\): /);
    } finally {
      await client.stop();
    }
  });

  test('no Runtime API at all', async () => {
    const client = startClient({ api: '127.0.0.1:1', taskRoot: writeTree({ 'index.js': 'exports.handler = async () => 1;' }), handler: 'index.handler' });
    const { code, stderr } = await client.exited;
    assert.equal(code, 1);
    assert.match(stderr, /lost the Runtime API at 127\.0\.0\.1:1 .*ECONNREFUSED/);
  });

  test('many invokes reuse one process and one connection', async () => {
    const api = new FakeRuntimeApi();
    const address = await api.start();
    let connections = 0;
    api.server.on('connection', () => connections++);
    const client = startClient({
      api: address,
      taskRoot: writeTree({ 'index.js': 'exports.handler = async (e) => e.i * 2;' }),
      handler: 'index.handler',
    });
    try {
      api.enqueue(...Array.from({ length: 20 }, (_, i) => invocation(`r${i}`, { i })));
      const posts = await api.waitForPosts(20);
      assert.deepEqual(posts.map((p) => [p.path, p.body]), Array.from({ length: 20 }, (_, i) => [responsePath(`r${i}`), String(i * 2)]));
      assert.equal(connections, 1);
    } finally {
      await client.stop();
      await api.close();
    }
  });
});
