#!/usr/bin/env node
// Builds the VS Code extension.
//   node scripts/build-extension.mjs            bundle extension/main.ts -> dist/extension.cjs and the
//                                               runs dashboard webview/main.ts -> dist/webview.js + .css
//   node scripts/build-extension.mjs --webview  only the webview bundle (npm run build:webview)
//   node scripts/build-extension.mjs --package  also build the server (npm run build), stage a clean
//                                               folder and make dist/aligner-<version>-linux-x64.vsix
// Why a staging folder: `vsce package --no-dependencies` never packs the top-level node_modules, and
// the repository holds large unrelated folders (.e2e, runs, .venv). The stage holds exactly what the
// extension needs: the bundle, the server (dist/server + bin), the default model if present, and the
// server's runtime packages under dist/node_modules (where Node finds them from dist/server), with
// onnxruntime-node reduced to its linux-x64 binary.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const t0 = Date.now();
const log = (m) => console.log(`[build-extension +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);

async function bundleExtension() {
  const result = await build({
    entryPoints: [join(root, 'extension/main.ts')],
    outfile: join(root, 'dist/extension.cjs'),
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // vscode is provided by the host; ws's optional native speedups are absent on purpose.
    external: ['vscode', 'bufferutil', 'utf-8-validate'],
    sourcemap: 'linked',
    minify: args.has('--package'),
    metafile: true,
    logLevel: 'warning',
  });
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  log(`dist/extension.cjs (${(bytes / 1024).toFixed(0)} KiB with map)`);
}

/** The runs dashboard: a browser bundle (IIFE) loaded by the webview with a nonce; its CSS (our styles)
 *  lands beside it as dist/webview.css. Chart.js and the toolkit are bundled: a webview loads nothing remote. */
async function bundleWebview() {
  const result = await build({
    entryPoints: [join(root, 'webview/main.ts')],
    outfile: join(root, 'dist/webview.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    sourcemap: args.has('--package') ? false : 'linked',
    minify: args.has('--package'),
    metafile: true,
    logLevel: 'warning',
  });
  const bytes = Object.entries(result.metafile.outputs)
    .filter(([f]) => !f.endsWith('.map'))
    .reduce((n, [, o]) => n + o.bytes, 0);
  log(`dist/webview.js + dist/webview.css (${(bytes / 1024).toFixed(0)} KiB)`);
}

/** Production dependency closure from package-lock.json (node_modules paths), minus type-only packages. */
function runtimePackages() {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages;
  const resolve = (name, from) => {
    let base = from;
    for (;;) {
      const p = `${base ? `${base}/` : ''}node_modules/${name}`;
      if (lock[p]) return p;
      if (!base) return null;
      const i = base.lastIndexOf('/node_modules/');
      base = i < 0 ? '' : base.slice(0, i);
    }
  };
  const seen = new Set();
  const walk = (p) => {
    if (!p || seen.has(p)) return;
    seen.add(p);
    const e = lock[p];
    for (const d of Object.keys({ ...e.dependencies, ...e.optionalDependencies })) walk(resolve(d, p));
  };
  for (const d of Object.keys(pkg.dependencies ?? {})) walk(resolve(d, ''));
  return [...seen].filter((p) => !/node_modules\/(@types\/|undici-types$)/.test(p));
}

function copy(from, to, filter) {
  if (!existsSync(from)) return false;
  cpSync(from, to, { recursive: true, dereference: true, filter: filter ?? (() => true) });
  return true;
}

function sizeOf(dir) {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    n += s.isDirectory() ? sizeOf(p) : s.size;
  }
  return n;
}

function run(cmd, argv, cwd) {
  const r = spawnSync(cmd, argv, { cwd, stdio: 'inherit', env: { ...process.env, npm_config_loglevel: 'error' } });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (exit ${r.status})`);
}

async function packageVsix() {
  // The server: `npm run build` is the lead's build of dist/server (tsc or a bundle).
  if (!args.has('--no-server-build') && pkg.scripts?.build) {
    log('building the server (npm run build)');
    run('npm', ['run', 'build', '--silent'], root);
  }
  if (!existsSync(join(root, 'dist/server'))) throw new Error('dist/server is missing: the server has not been built');

  const stage = join(root, 'out/vsix-stage');
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  const noMaps = (src) => !src.endsWith('.map') && !src.endsWith('.tsbuildinfo');
  for (const f of [
    'package.json',
    'README.md',
    'CHANGELOG.md',
    'LICENSE',
    'LICENSE.md',
    'LICENSE.txt',
    '.vscodeignore',
  ])
    copy(join(root, f), join(stage, f));
  copy(join(root, 'media'), join(stage, 'media'));
  copy(join(root, 'bin'), join(stage, 'bin'));
  copy(join(root, 'dist/extension.cjs'), join(stage, 'dist/extension.cjs'));
  copy(join(root, 'dist/webview.js'), join(stage, 'dist/webview.js'));
  copy(join(root, 'dist/webview.css'), join(stage, 'dist/webview.css'));
  copy(join(root, 'dist/server'), join(stage, 'dist/server'), noMaps);
  if (copy(join(root, 'models/default'), join(stage, 'models/default')))
    log('bundled the default model (models/default)');
  else log('no models/default: the package has no bundled model (users pick one with Aligner: Select Model)');
  if (!existsSync(join(stage, 'README.md'))) {
    writeFileSync(join(stage, 'README.md'), `# ${pkg.displayName}\n\n${pkg.description}\n`);
  }

  // Runtime packages for the server, beside it (Node resolves dist/server/** -> dist/node_modules).
  // Only what runs: no type declarations, TypeScript sources, maps, docs or tests; onnxruntime's
  // native binary for linux-x64 only.
  const runtimeFile = (src) => {
    const p = src.replaceAll('\\', '/');
    const m = /onnxruntime-node\/bin\/napi-v\d+\/([^/]+)(?:\/([^/]+))?/.exec(p);
    if (m) return m[1] === 'linux' && (!m[2] || m[2] === 'x64');
    if (/\/(test|tests|__tests__|docs|example|examples)$/.test(p)) return false;
    return !/\.(d\.[cm]?ts|ts|map|md|markdown)$/i.test(p) || /license/i.test(p);
  };
  const packages = runtimePackages();
  for (const p of packages) copy(join(root, p), join(stage, 'dist', p), runtimeFile);
  log(
    `staged ${packages.length} runtime packages (${(sizeOf(join(stage, 'dist/node_modules')) / 2 ** 20).toFixed(1)} MiB)`,
  );

  const outFile = join(root, 'dist', `${pkg.name}-${pkg.version}-linux-x64.vsix`);
  rmSync(outFile, { force: true });
  const vsce = join(root, 'node_modules/@vscode/vsce/vsce');
  const hasLicense = ['LICENSE', 'LICENSE.md', 'LICENSE.txt'].some((f) => existsSync(join(stage, f)));
  run(
    process.execPath,
    [
      vsce,
      'package',
      '--no-dependencies',
      '--target',
      'linux-x64',
      '--out',
      outFile,
      '--allow-missing-repository',
      // README links are relative (docs/…) and there is no public repository URL to rewrite them to.
      '--no-rewrite-relative-links',
      ...(hasLicense ? [] : ['--skip-license']),
    ],
    stage,
  );
  log(`${relative(root, outFile)} (${(statSync(outFile).size / 2 ** 20).toFixed(1)} MiB)`);
}

if (!args.has('--webview')) await bundleExtension();
await bundleWebview();
if (args.has('--package')) await packageVsix();
