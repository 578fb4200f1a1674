// Which onnxruntime execution providers can run here, and the fallback to CPU with a reason.
// listSupportedBackends() names what the binding was compiled for; CUDA and TensorRT also need
// their provider libraries beside it (onnxruntime-node's installer fetches them on machines with
// internet and CUDA 12), so their presence is checked on disk.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ExecutionProvider } from '../protocol/index.js';

const PROVIDER_LIBRARIES: Record<string, string> = {
  cuda: 'libonnxruntime_providers_cuda.so',
  tensorrt: 'libonnxruntime_providers_tensorrt.so',
};

function bindingDir(): string | null {
  try {
    const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    return join(dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return null;
  }
}

export function availableExecutionProviders(): string[] {
  let compiled: string[];
  try {
    compiled = ort.listSupportedBackends().map((b) => b.name);
  } catch {
    compiled = ['cpu'];
  }
  const dir = bindingDir();
  return compiled.filter((name) => {
    const lib = PROVIDER_LIBRARIES[name];
    if (!lib) return true;
    if (process.platform !== 'linux' || !dir) return true;
    return existsSync(join(dir, lib));
  });
}

export interface ProviderChoice {
  provider: ExecutionProvider;
  /** Why the requested provider was not used, for the user to read. */
  notice: string | null;
}

export function chooseProvider(requested: ExecutionProvider = 'cpu'): ProviderChoice {
  if (requested === 'cpu') return { provider: 'cpu', notice: null };
  const available = availableExecutionProviders();
  if (available.includes(requested)) return { provider: requested, notice: null };
  const hint =
    requested === 'cuda'
      ? " The CUDA provider is fetched by onnxruntime-node's installer on a machine with internet, CUDA 12 and cuDNN 9."
      : '';
  return {
    provider: 'cpu',
    notice: `execution provider "${requested}" is not available here (available: ${available.join(', ')}); using cpu.${hint}`,
  };
}

/** Used when a provider that looked available fails to create a session (e.g. WebGPU without an adapter). */
export function fallbackNotice(requested: ExecutionProvider, reason: string): string {
  return `execution provider "${requested}" failed to start (${reason.split('\n')[0]}); using cpu.`;
}
