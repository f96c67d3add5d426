// Test harness: an in-process fake Lambda Runtime API and a way to run offcloud_runtime.mjs against handler files
// written to a temporary directory. Every child process is killed after a timeout, so no test can hang.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const RUNTIME = fileURLToPath(new URL('../offcloud_runtime.mjs', import.meta.url));
export const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:fn';
export const TRACE = 'Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1';

// One queued event with the headers the Runtime API sends on /next (LDG runtimes-api.md).
export function invocation(id, payload, headers = {}) {
  return {
    body: JSON.stringify(payload),
    headers: {
      'Content-Type': 'application/json',
      'Lambda-Runtime-Aws-Request-Id': id,
      'Lambda-Runtime-Deadline-Ms': String(Date.now() + 30_000),
      'Lambda-Runtime-Invoked-Function-Arn': ARN,
      'Lambda-Runtime-Trace-Id': TRACE,
      ...headers,
    },
  };
}

export class FakeRuntimeApi {
  constructor() {
    this.queue = [];
    this.parked = []; // GET /next requests waiting for an event
    this.posts = []; // { path, headers, body } of every POST, in arrival order
    this.waiters = [];
    this.server = http.createServer((req, res) => this.#handle(req, res));
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${this.server.address().port}`;
  }

  enqueue(...events) {
    this.queue.push(...events);
    this.#deliver();
  }

  // Resolves with the POSTs once there are at least n of them.
  waitForPosts(n, timeoutMs = 5000) {
    if (this.posts.length >= n) return Promise.resolve(this.posts);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`expected ${n} POSTs, got ${JSON.stringify(this.posts, null, 1)}`)), timeoutMs);
      this.waiters.push({ n, resolve: () => (clearTimeout(timer), resolve(this.posts)) });
    });
  }

  close() {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(resolve));
  }

  #deliver() {
    while (this.queue.length && this.parked.length) {
      const res = this.parked.shift();
      if (res.destroyed) continue;
      const { headers, body } = this.queue.shift();
      res.writeHead(200, headers).end(body);
    }
  }

  #handle(req, res) {
    if (req.method === 'GET' && req.url === '/2018-06-01/runtime/invocation/next') {
      this.parked.push(res);
      this.#deliver();
      return;
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      this.posts.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(202, { 'Content-Type': 'application/json' }).end('{"status":"OK"}');
      this.waiters = this.waiters.filter((w) => (this.posts.length >= w.n ? (w.resolve(), false) : true));
    });
  }
}

// Every tree lives under one temporary directory, removed when the test process exits.
const SCRATCH = fs.mkdtempSync(path.join(os.tmpdir(), 'offcloud-node-'));
process.on('exit', () => fs.rmSync(SCRATCH, { recursive: true, force: true }));

// Writes files (relative path -> contents) under a fresh temporary directory and returns its path.
export function writeTree(files, root = fs.mkdtempSync(path.join(SCRATCH, 'fn-'))) {
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  return root;
}

// Starts the runtime client in taskRoot. `exited` resolves with { code, signal, stdout, stderr } once the process
// has ended and its output is fully read; `stop()` kills it and waits for that.
export function startClient({ api, taskRoot, handler, env = {}, timeoutMs = 10_000 }) {
  const child = spawn(process.execPath, [RUNTIME, handler], {
    cwd: taskRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      LAMBDA_TASK_ROOT: taskRoot,
      AWS_LAMBDA_RUNTIME_API: api,
      AWS_LAMBDA_FUNCTION_NAME: 'fn',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/fn',
      AWS_LAMBDA_LOG_STREAM_NAME: '2024/01/01/[$LATEST]0123456789abcdef',
      ...env,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    exited,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}

// Runs one client against a fresh fake Runtime API: writes `files`, queues `events`, waits for `posts` POSTs (or
// for the process to exit when `untilExit`), then stops everything. Returns the POSTs and the process outcome.
export async function run({ files, handler, events = [], posts = events.length, env, untilExit = false, root }) {
  const api = new FakeRuntimeApi();
  const address = await api.start();
  const taskRoot = writeTree(files, root);
  const client = startClient({ api: address, taskRoot, handler, env });
  try {
    api.enqueue(...events);
    if (untilExit) {
      const outcome = await client.exited;
      return { posts: api.posts, ...outcome, taskRoot };
    }
    await Promise.race([
      api.waitForPosts(posts),
      client.exited.then((o) => {
        throw new Error(`client exited early (${o.code}): ${o.stderr}${o.stdout}`);
      }),
    ]);
    const outcome = await client.stop();
    return { posts: api.posts, ...outcome, taskRoot };
  } finally {
    await client.stop();
    await api.close();
  }
}
