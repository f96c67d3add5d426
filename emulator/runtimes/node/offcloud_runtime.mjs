// Offcloud's Node.js runtime interface client: runs a `nodejs*.x` handler against the Lambda Runtime API with
// nothing but Node's standard library (Node 18+).
//
// Started as `node offcloud_runtime.mjs <handler>` with the function's code directory as the working directory.
// Behaviour follows AWS's own client, aws-lambda-ric 3.3.0 (NODERIC below), as summarised with sources in
// /work/shared/notes/runtime-clients.md; no code is taken from it. Other keys: LDG = the Lambda developer guide,
// RAPI = docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html.

import fs from 'node:fs';
import http from 'node:http';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import util from 'node:util';

const env = process.env;
const stderr = (line) => process.stderr.write(`offcloud-runtime: ${line}\n`);

// ---------------------------------------------------------------------------------------------------------------
// Errors. The error type AWS reports is `Runtime.` + the class name (NODERIC Errors.js). The name lives on the
// prototype so that it appears in the stack's first line without becoming an own, enumerable property.

function runtimeError(className) {
  const cls = { [className]: class extends Error {} }[className];
  Object.defineProperty(cls.prototype, 'name', { value: `Runtime.${className}`, writable: true, configurable: true });
  return cls;
}
const MalformedHandlerName = runtimeError('MalformedHandlerName');
const UserCodeSyntaxError = runtimeError('UserCodeSyntaxError');
const ImportModuleError = runtimeError('ImportModuleError');
const HandlerNotFound = runtimeError('HandlerNotFound');
const UnhandledPromiseRejection = runtimeError('UnhandledPromiseRejection');
const NodeJsExit = runtimeError('NodeJsExit');

const NODE_JS_EXIT_MESSAGE =
  'The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise ' +
  'that was never settled. For more information, see https://nodejs.org/docs/latest/api/process.html#exit-codes';
const ALREADY_DONE =
  'Invocation has already been reported as done. Cannot call complete more than once per invocation.';
const STREAMING_UNSUPPORTED = 'response streaming is not supported by Offcloud yet';

const isErrorLike = (e) =>
  e instanceof Error ||
  (e !== null && typeof e === 'object' &&
    typeof e.name === 'string' && typeof e.message === 'string' && typeof e.stack === 'string');

// The document posted to the Runtime API: errorType, errorMessage and `trace` (not stackTrace); a non-Error value
// reports its typeof, so `throw "boom"` gives errorType "string" (NODERIC Errors.js toRapidResponse).
function errorDocument(err) {
  try {
    if (isErrorLike(err)) return { errorType: err.name, errorMessage: err.message, trace: err.stack.split('\n') };
    return { errorType: typeof err, errorMessage: err.toString(), trace: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage: 'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}
// DEL characters are sent as %7F (NODERIC Errors.js).
const errorBody = (doc) => JSON.stringify(doc).replace(/\x7F/g, '%7F');

// The X-Ray cause header AWS's clients send with an invocation error (notes §1; NODERIC XRayError.js). Header
// values must be Latin-1, so everything from DEL up is \u-escaped, which keeps the JSON equivalent. A cause over
// 32 KiB is dropped rather than risk the whole error POST being refused for its header size.
function xrayCause(err, doc) {
  try {
    const frames = [];
    for (const line of isErrorLike(err) ? err.stack.split('\n').slice(1) : []) {
      const m = /^\s*at (?:(.+?) \()?(.+?):(\d+):\d+\)?$/.exec(line);
      if (m) frames.push({ path: m[2], line: Number(m[3]), label: m[1] ?? 'anonymous' });
    }
    const cause = JSON.stringify({
      working_directory: process.cwd(),
      exceptions: [{ type: doc.errorType, message: doc.errorMessage, stack: frames }],
      paths: [...new Set(frames.map((f) => f.path))],
    }).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    return cause.length <= 32 * 1024 ? cause : undefined;
  } catch {
    return undefined;
  }
}

// The JSON after "Invoke Error" in a text log line: errorType, errorMessage, code, the error's own enumerable
// properties and the stack as lines (notes §3.4, NODERIC Errors.js toFormatted).
function formatForLog(err) {
  const expand = (_key, v) => {
    if (!(v instanceof Error)) return v;
    const out = { errorType: v.name, errorMessage: v.message, code: v.code, ...v };
    if (typeof v.stack === 'string') out.stack = v.stack.split('\n');
    return out;
  };
  try {
    return '\t' + JSON.stringify(err, expand);
  } catch {
    return '\t' + JSON.stringify(errorDocument(err));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Console. Every level writes one line to stdout, including console.error (NODERIC LogPatch.js; LDG nodejs-logging.md).

const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
const jsonLogs = (env.AWS_LAMBDA_LOG_FORMAT ?? '').toUpperCase() === 'JSON';
const minLevel = Math.max(0, LEVELS.indexOf((env.AWS_LAMBDA_LOG_LEVEL ?? '').toUpperCase()));

// Before the first invoke the request id is undefined, and text lines say so literally (LogPatch.js).
let logRequestId;
let logTenantId;

// JSON.stringify that survives cycles and BigInts, which a log call must never throw on.
function safeJson(value) {
  const seen = new WeakSet();
  return JSON.stringify(value, (_key, v) => {
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'object' && v !== null) {
      if (seen.has(v)) return '[Circular]';
      seen.add(v);
    }
    return v;
  });
}

const stackLines = (e) => (typeof e.stack === 'string' ? e.stack.split('\n') : []);

function jsonLine(level, args) {
  const record = { timestamp: new Date().toISOString(), level, requestId: logRequestId };
  if (logTenantId !== undefined) record.tenantId = logTenantId;
  const [first] = args;
  if (args.length === 1 && first instanceof Error) {
    record.message = { errorType: first.constructor?.name, errorMessage: first.message, stackTrace: stackLines(first), ...first };
  } else if (args.length === 1 && first !== undefined && typeof first !== 'function' && typeof first !== 'symbol') {
    record.message = first;
  } else {
    record.message = util.format(...args);
    const e = args.find((a) => a instanceof Error);
    if (e) Object.assign(record, { errorType: e.constructor?.name, errorMessage: e.message, stackTrace: stackLines(e) });
  }
  return safeJson(record) + '\n';
}

function textLine(level, args) {
  const message = util.format(...args).replace(/\n/g, '\r');
  return `${new Date().toISOString()}\t${logRequestId}\t${level}\t${message}\n`;
}

function patchConsole() {
  const methods = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', log: 'INFO', warn: 'WARN', error: 'ERROR', fatal: 'FATAL' };
  for (const [method, level] of Object.entries(methods)) {
    // Levels below AWS_LAMBDA_LOG_LEVEL become no-ops; the default is TRACE, and FATAL always prints.
    console[method] = LEVELS.indexOf(level) < minLevel
      ? () => {}
      : (...args) => process.stdout.write(jsonLogs ? jsonLine(level, args) : textLine(level, args));
  }
}

// Text logs put the formatted error after a label; JSON logs log the error itself (notes §3.4).
const logError = (label, err) => (jsonLogs ? console.error(err) : console.error(label, formatForLog(err)));

// ---------------------------------------------------------------------------------------------------------------
// Runtime API client. A keep-alive agent reuses one connection; idle pooled sockets are unref'd by Node, so they
// do not keep the event loop alive and `beforeExit` still fires when user work drains.

const API = env.AWS_LAMBDA_RUNTIME_API ?? '';
let apiHost;
let apiPort;
const agent = new http.Agent({ keepAlive: true });
const BASE = '/2018-06-01/runtime';

function call(method, urlPath, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(body);
    const attempt = (mayRetry) => {
      const req = http.request({
        agent, host: apiHost, port: apiPort, method, path: BASE + urlPath,
        headers: payload ? { ...headers, 'Content-Length': payload.length } : headers,
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      });
      // A pooled connection the server closed while idle fails at once; one retry on a fresh socket covers it.
      req.on('error', (err) => (mayRetry && req.reusedSocket && err.code === 'ECONNRESET' ? attempt(false) : reject(err)));
      req.end(payload);
    };
    attempt(true);
  });
}

// Header values are kept to printable ASCII, so that an odd error name cannot stop its error from being reported.
const headerSafe = (v) => String(v).replace(/[^\t\x20-\x7e]/g, '?');

function die(message) {
  stderr(message);
  process.exit(1);
}

// A POST the runtime cannot do without. 500 means "the runtime should exit" (RAPI); other refusals (403 for a
// finished invoke, 413 for an oversized response) are already recorded by the Runtime API, so the loop goes on.
async function post(urlPath, body, headers) {
  let res;
  try {
    res = await call('POST', urlPath, body, headers);
  } catch (err) {
    die(`lost the Runtime API at ${API} (POST ${urlPath}): ${err.message}`);
  }
  if (res.status >= 500) die(`the Runtime API answered ${res.status} to POST ${urlPath}, so the runtime exits: ${res.body}`);
  if (res.status !== 202) stderr(`the Runtime API answered ${res.status} to POST ${urlPath}: ${res.body}`);
}

// The request id is URL-encoded in the path (NODERIC RAPIDClient.js, 3.2.0 changelog).
const invocationPath = (id, action) => `/invocation/${encodeURIComponent(id)}/${action}`;

function errorRequest(err) {
  const doc = errorDocument(err);
  const headers = { 'Content-Type': 'application/json' };
  const cause = xrayCause(err, doc);
  if (cause) headers['Lambda-Runtime-Function-XRay-Error-Cause'] = cause;
  return { doc, body: errorBody(doc), headers };
}

// Invocation errors carry no Lambda-Runtime-Function-Error-Type header, as with AWS's clients (notes §1).
function postInvokeError(id, err) {
  logError('Invoke Error', err);
  const { body, headers } = errorRequest(err);
  return post(invocationPath(id, 'error'), body, headers);
}

// The result is always JSON; undefined becomes null (NODERIC RAPIDClient.js _trySerializeResponse). A value
// JSON.stringify skips entirely (a function, a symbol) is also sent as null rather than as an empty body.
function postResponse(id, result) {
  let body;
  try {
    body = JSON.stringify(result === undefined ? null : result) ?? 'null';
  } catch {
    return postInvokeError(id, new Error('Unable to stringify response body'));
  }
  return post(invocationPath(id, 'response'), body, { 'Content-Type': 'application/json' });
}

function postInitError(err) {
  const { doc, body } = errorRequest(err);
  return call('POST', '/init/error', body, {
    'Lambda-Runtime-Function-Error-Type': headerSafe(doc.errorType),
    'Content-Type': 'application/json',
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Handler loading (NODERIC UserFunction.js; notes §3.1).

const isFile = (p) => {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
};

// Whether the nearest package.json says "type": "module". The walk stops, answering CommonJS, at a folder ending
// in /node_modules or at the root; an unreadable package.json is warned about and treated as CommonJS.
function inModuleScope(file) {
  for (let dir = path.dirname(file); dir !== path.parse(dir).root && !dir.endsWith(`${path.sep}node_modules`); dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (!fs.existsSync(pkg)) continue;
    try {
      return JSON.parse(fs.readFileSync(pkg, 'utf8')).type === 'module';
    } catch (err) {
      console.warn(`${pkg} could not be read and is ignored when deciding whether ${file} is an ES module:`, err);
      return false;
    }
  }
  return false;
}

// ES modules do not consult NODE_PATH, yet AWS's Node 18+ runtimes let them import packages from layers
// (repost.aws knowledge-center lambda-import-module-error-nodejs). A resolve hook retries a bare specifier that
// failed normally as if imported from beside each NODE_PATH entry named node_modules. Hooks start a worker thread
// (about 100 ms here), so they are registered only before a handler is loaded as an ES module, on Node versions
// that have module.register (18.19+, 20.6+).
const ESM_NODE_PATH_HOOK = `
import path from 'node:path';
import { pathToFileURL } from 'node:url';
const parents = (process.env.NODE_PATH || '').split(path.delimiter)
  .filter((d) => path.isAbsolute(d) && path.basename(d) === 'node_modules')
  .map((d) => pathToFileURL(path.join(d, '..', 'offcloud-node-path.mjs')).href);
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || /^[.\\/#]|^[a-z][a-z0-9+.-]*:/i.test(specifier)) throw err;
    for (const parentURL of parents) {
      try { return await next(specifier, { ...context, parentURL }); } catch {}
    }
    throw err;
  }
}`;
let esmHookRegistered = false;

function importEsm(file) {
  const hasNodeModules = (env.NODE_PATH ?? '').split(path.delimiter).some((d) => path.basename(d) === 'node_modules');
  if (!esmHookRegistered && hasNodeModules && typeof Module.register === 'function') {
    Module.register(`data:text/javascript,${encodeURIComponent(ESM_NODE_PATH_HOOK)}`);
    esmHookRegistered = true;
  }
  // Awaiting the import lets top-level await finish before the first invoke.
  return import(pathToFileURL(file).href);
}

// CommonJS `require` consults NODE_PATH by itself: Node reads it into its global lookup paths at start-up, and the
// Rust side sets it in the environment it starts this process with.
const runtimeRequire = createRequire(import.meta.url);

// Lookup order: extensionless, .js (CommonJS or ESM by package type), .mjs, .cjs, then require.resolve from the
// task root. The extensionless candidate must be a regular file, so a folder named like the module is skipped
// instead of being required as a package.
async function loadModule(appRoot, moduleRoot, moduleName) {
  const base = path.resolve(appRoot, moduleRoot, moduleName);
  if (isFile(base)) return runtimeRequire(base);
  if (isFile(`${base}.js`)) return inModuleScope(`${base}.js`) ? importEsm(`${base}.js`) : runtimeRequire(`${base}.js`);
  if (isFile(`${base}.mjs`)) return importEsm(`${base}.mjs`);
  if (isFile(`${base}.cjs`)) return runtimeRequire(`${base}.cjs`);
  return runtimeRequire(runtimeRequire.resolve(moduleName, { paths: [appRoot, moduleRoot] }));
}

async function loadHandler(appRoot, fullName) {
  if (fullName.includes('..')) {
    throw new MalformedHandlerName(`'${fullName}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`);
  }
  // "dir/file.api.handler": module root "dir/", module "file", property path "api.handler".
  const baseName = path.basename(fullName);
  const moduleRoot = fullName.slice(0, fullName.length - baseName.length);
  const dot = baseName.indexOf('.');
  if (dot === -1) throw new MalformedHandlerName('Bad handler');
  let exported;
  try {
    exported = await loadModule(appRoot, moduleRoot, baseName.slice(0, dot));
  } catch (err) {
    // Only these two are translated; anything else, such as ESM's ERR_MODULE_NOT_FOUND, is reported unchanged.
    if (err instanceof SyntaxError) throw new UserCodeSyntaxError(String(err));
    if (err?.code === 'MODULE_NOT_FOUND') throw new ImportModuleError(String(err));
    throw err;
  }
  const handler = baseName.slice(dot + 1).split('.').reduce((obj, key) => obj?.[key], exported);
  if (handler === undefined) throw new HandlerNotFound(`${fullName} is undefined or not exported`);
  if (typeof handler !== 'function') throw new HandlerNotFound(`${fullName} is not a function`);
  return handler;
}

// The global AWS installs for response streaming (NODERIC UserFunction.js). Offcloud does not stream yet, so a
// streaming handler fails each invoke with a clear message instead of misbehaving.
function installAwslambdaGlobal() {
  if (['1', 'true'].includes(env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA)) return;
  const unsupported = () => {
    throw new Error(STREAMING_UNSUPPORTED);
  };
  globalThis.awslambda = {
    streamifyResponse: () => async function streamingHandler() {
      unsupported();
    },
    HttpResponseStream: { from: unsupported },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Invokes (NODERIC Runtime.js, CallbackContext.js, BeforeExitListener.js, InvokeContext.js; notes §3.2 and §3.5).

// What to do when the event loop drains during the current invoke, detected through `beforeExit`.
let onDrain = null;
process.on('beforeExit', () => {
  const action = onDrain;
  onDrain = null;
  action?.();
});

// The latest invoke id: errors that escape a handler are posted against it (NODERIC Runtime.js _setErrorCallbacks).
let latestInvokeId;

function parseJsonHeader(value, what) {
  if (value === undefined || value === '') return undefined;
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new Error(`Cannot parse ${what} as json: ${err.message}`);
  }
}

function invoke(handler, isAsync, { headers, body }) {
  // Node lowercases incoming header names, so the server's casing does not matter.
  const id = headers['lambda-runtime-aws-request-id'];
  if (!id) die('invocation id is missing or invalid: /invocation/next answered without Lambda-Runtime-Aws-Request-Id');
  latestInvokeId = logRequestId = id;
  logTenantId = headers['lambda-runtime-aws-tenant-id'];
  // The trace header is copied on every invoke and the variable deleted when it is absent, so that no stale trace
  // survives into the next invoke (LDG runtimes-api.md; NODERIC InvokeContext.js _forwardXRay).
  const trace = headers['lambda-runtime-trace-id'];
  if (trace) env._X_AMZN_TRACE_ID = trace;
  else delete env._X_AMZN_TRACE_ID;

  return new Promise((finished) => {
    let completed = false;
    let waitForEmptyLoop = true;
    const send = (err, result) => {
      onDrain = null;
      const sent = err === undefined ? postResponse(id, result) : postInvokeError(id, err);
      sent.then(finished);
    };
    // Only the first of the callback, succeed, fail, done and the returned promise counts. An error is sent at
    // once; a result waits for the event loop to drain if the callback asked for that.
    const complete = (err, result, waits) => {
      if (completed) return console.warn(ALREADY_DONE);
      completed = true;
      onDrain = null;
      if (err !== undefined && err !== null) send(err);
      else if (waits && waitForEmptyLoop) onDrain = () => send(undefined, result);
      else send(undefined, result);
    };
    const callback = (err, result) => complete(err, result, true);
    // succeed, fail and done answer at once, whatever callbackWaitsForEmptyEventLoop says. fail() without an
    // argument reports the string 'handled'.
    const fail = (err) => complete(err ?? 'handled', undefined, false);
    const succeed = (result) => complete(null, result, false);
    const done = (err, result) => complete(err, result, false);

    // A handler that never settles: an async one is reported as Runtime.NodeJsExit, any other answers null.
    onDrain = isAsync ? () => fail(new NodeJsExit(NODE_JS_EXIT_MESSAGE)) : () => succeed(null);
    try {
      const event = JSON.parse(body);
      const deadline = Number(headers['lambda-runtime-deadline-ms']);
      const context = {
        get callbackWaitsForEmptyEventLoop() {
          return waitForEmptyLoop;
        },
        set callbackWaitsForEmptyEventLoop(value) {
          waitForEmptyLoop = value;
        },
        succeed,
        fail,
        done,
        functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
        functionName: env.AWS_LAMBDA_FUNCTION_NAME,
        memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
        logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
        logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
        // Both headers are plain JSON, not base64 (notes §1 and §5).
        clientContext: parseJsonHeader(headers['lambda-runtime-client-context'], 'ClientContext'),
        identity: parseJsonHeader(headers['lambda-runtime-cognito-identity'], 'CognitoIdentity'),
        invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
        awsRequestId: id,
        tenantId: logTenantId,
        // Not clamped: it goes negative past the deadline, as on AWS.
        getRemainingTimeInMillis: () => deadline - Date.now(),
      };
      const result = handler(event, context, callback);
      if (result !== null && typeof result?.then === 'function') result.then(succeed, fail);
    } catch (err) {
      fail(err);
    }
  });
}

async function nextInvocation() {
  let res;
  try {
    res = await call('GET', '/invocation/next');
  } catch (err) {
    die(`lost the Runtime API at ${API} (GET /invocation/next): ${err.message}`);
  }
  if (res.status !== 200) die(`GET /invocation/next answered ${res.status}, so the runtime exits: ${res.body}`);
  return res;
}

// ---------------------------------------------------------------------------------------------------------------
// Errors that escape user code. Before the first invoke they are init errors; afterwards they are posted against
// the latest invoke. Either way the process exits, 129 for an exception and 128 for a rejection (NODERIC index.mjs).

let crashing = false;
function crash(label, err, exitCode) {
  if (crashing) return;
  crashing = true;
  logError(label, err);
  const exit = () => process.exit(exitCode);
  setTimeout(exit, 3000);
  const { body, headers } = errorRequest(err);
  const sent = latestInvokeId === undefined
    ? postInitError(err)
    : call('POST', invocationPath(latestInvokeId, 'error'), body, headers);
  sent.then(exit, exit);
}

process.on('uncaughtException', (err) => crash('Uncaught Exception', err, 129));
process.on('unhandledRejection', (reason) => {
  let message;
  try {
    message = String(reason);
  } catch {
    message = util.inspect(reason);
  }
  crash('Unhandled Promise Rejection', new UnhandledPromiseRejection(message), 128);
});

async function main() {
  // The variable holds host:port with no scheme (LDG runtimes-api.md).
  try {
    const url = new URL(`http://${API}`);
    apiHost = url.hostname.replace(/^\[(.*)\]$/, '$1');
    apiPort = Number(url.port || 80);
  } catch {
    die(`AWS_LAMBDA_RUNTIME_API must be host:port, not ${JSON.stringify(API)}`);
  }
  patchConsole();
  installAwslambdaGlobal();
  const handlerName = process.argv[2] ?? env._HANDLER;
  let handler;
  try {
    if (!handlerName) throw new Error('No handler specified');
    handler = await loadHandler(process.cwd(), handlerName);
  } catch (err) {
    crash('Uncaught Exception', err, 129);
    return;
  }
  // Transpiled async functions count as plain functions, as with AWS (NODERIC UserFunction.js _isAsync).
  const isAsync = handler.constructor?.name === 'AsyncFunction';
  for (;;) await invoke(handler, isAsync, await nextInvocation());
}

main();
