import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  backoffDelay,
  buildLaunchSpec,
  parseListeningLine,
  ServerProcess,
  type LaunchSpec,
} from '../../../extension/serverProcess.js';

const quietLog = () => {
  const lines: string[] = [];
  return {
    lines,
    info: (m: string) => lines.push(m),
    warn: (m: string) => lines.push(m),
    error: (m: string) => lines.push(m),
  };
};

const fakeServer = (script: string): LaunchSpec => ({
  command: process.execPath,
  args: ['-e', script],
  cwd: process.cwd(),
  env: process.env,
});

test('parseListeningLine: only the listening event', () => {
  const line =
    '{"event":"listening","url":"http://127.0.0.1:4242","wsUrl":"ws://127.0.0.1:4242/rpc","tokenFile":"/tmp/t"}';
  assert.deepEqual(parseListeningLine(line), {
    event: 'listening',
    url: 'http://127.0.0.1:4242',
    wsUrl: 'ws://127.0.0.1:4242/rpc',
    tokenFile: '/tmp/t',
  });
  assert.equal(parseListeningLine('loading model…'), null);
  assert.equal(parseListeningLine('{"event":"loading"}'), null);
  assert.equal(parseListeningLine('{not json'), null);
});

test('backoff doubles from 0.5 s and is capped at 30 s', () => {
  assert.deepEqual(
    [0, 1, 2, 3].map((a) => backoffDelay(a)),
    [500, 1000, 2000, 4000],
  );
  assert.equal(backoffDelay(20), 30_000);
});

test('launch spec: serve with model, port, token and ready files', () => {
  const spec = buildLaunchSpec(
    {
      nodePath: '/usr/bin/node',
      extensionRoot: '/ext',
      modelPath: '/m',
      port: 0,
      tokenFile: '/s/server.token',
      executionProvider: 'cpu',
    },
    {},
  );
  assert.equal(spec.command, '/usr/bin/node');
  assert.deepEqual(spec.args.slice(0, 2), ['/ext/bin/aligner.js', 'serve']);
  assert.equal(spec.args[spec.args.indexOf('--model') + 1], '/m');
  assert.equal(spec.args[spec.args.indexOf('--port') + 1], '0');
  assert.equal(spec.args[spec.args.indexOf('--token-file') + 1], '/s/server.token');
  assert.equal(spec.env.ELECTRON_RUN_AS_NODE, '1');
});

test('start resolves on the listening line; stop ends the process as expected (no crash report)', async () => {
  const log = quietLog();
  const p = new ServerProcess(log);
  const exits: boolean[] = [];
  const ev = await p.start(
    fakeServer(
      `console.log('loading'); console.log(JSON.stringify({event:'listening',url:'http://127.0.0.1:1',wsUrl:'ws://127.0.0.1:1/rpc',tokenFile:'/t'})); setInterval(()=>{}, 1000);`,
    ),
    10_000,
    (_info, expected) => exits.push(expected),
  );
  assert.equal(ev.wsUrl, 'ws://127.0.0.1:1/rpc');
  assert.ok(log.lines.some((l) => l.includes('[server] loading')));
  await p.stop();
  assert.deepEqual(exits, [true]);
});

test('a server that fails before listening: rejected with its own last words, verbatim', async () => {
  const p = new ServerProcess(quietLog());
  await assert.rejects(
    p.start(
      fakeServer(`console.error('Error: model folder /nope has no config.json'); process.exit(2);`),
      10_000,
      () => undefined,
    ),
    /exited with code 2: Error: model folder \/nope has no config.json/,
  );
});

test('a server that dies later is reported as unexpected', async () => {
  const p = new ServerProcess(quietLog());
  let resolveExit: (v: boolean) => void;
  const exited = new Promise<boolean>((r) => (resolveExit = r));
  await p.start(
    fakeServer(
      `console.log(JSON.stringify({event:'listening',url:'u',wsUrl:'w',tokenFile:''})); setTimeout(() => process.exit(1), 50);`,
    ),
    10_000,
    (_i, expected) => resolveExit(expected),
  );
  assert.equal(await exited, false);
});

test('the exit message quotes only error output, not the info log', async () => {
  const p = new ServerProcess(quietLog());
  await assert.rejects(
    p.start(
      fakeServer(`console.error('[info] loading model'); console.error('[error] out of memory'); process.exit(3);`),
      10_000,
      () => undefined,
    ),
    (err: Error) => err.message === 'The Aligner server exited with code 3: [error] out of memory',
  );
});

test('launch spec: the folders clients may read, and our pid so the server stops if we die', () => {
  const spec = buildLaunchSpec(
    {
      nodePath: '/usr/bin/node',
      extensionRoot: '/ext',
      modelPath: '/m',
      port: 0,
      tokenFile: '/s/server.token',
      executionProvider: 'cpu',
      allowRoots: ['/work/space', '/storage'],
    },
    {},
  );
  const roots = spec.args.flatMap((a, i) => (a === '--allow-root' ? [spec.args[i + 1]] : []));
  assert.deepEqual(roots, ['/work/space', '/storage']);
  assert.equal(spec.env.ALIGNER_PARENT_PID, String(process.pid));
});
