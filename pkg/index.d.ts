/// <reference lib="esnext.disposable" />
// (wasm-bindgen's generated classes implement Symbol.dispose.)
// Types of brasa's JavaScript API (index.js and core.js; the wasm classes are in wasm/brasa.d.ts).
import type { Engine as GpuEngine, Model } from './wasm/brasa.js';

export * from './wasm/brasa.js';

/** Every failure the package reports; `code` is stable (see README "Errors"). */
export class BrasaError extends Error {
  readonly code: string;
  constructor(code: string, message: string);
}

// ---- The OpenAI-shaped engine -------------------------------------------------------------

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | string;
  content: string | Array<{ type: 'text'; text: string }>;
}

export interface SamplingOptions {
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  min_p?: number;
  repetition_penalty?: number;
  frequency_penalty?: number;
  presence_penalty?: number;
  /** Token id → bias added to its logit; -Infinity bans it. */
  logit_bias?: Record<number, number>;
  seed?: number;
  stop?: string | string[];
  /** Log-probabilities of the reply's tokens (the sampler's distribution at temperature 1). */
  logprobs?: boolean;
  /** With `logprobs`: the 0–20 most likely tokens at each step. */
  top_logprobs?: number;
  /** brasa's own: the session (K/V cache) to run on, from `engine.forkSession()`; default 0. */
  session?: number;
  signal?: AbortSignal;
}

export interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
}

export interface Logprobs {
  content: Array<TokenLogprob & { top_logprobs: TokenLogprob[] }>;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** Prompt tokens reused from the previous request's cache. */
  prompt_tokens_details: { cached_tokens: number };
  timings: {
    ttft_ms: number;
    prefill_tokens_per_s: number;
    decode_tokens_per_s: number;
    total_ms: number;
    context_shifts: number;
  };
}

export type FinishReason = 'stop' | 'length';

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{ index: 0; message: { role: 'assistant'; content: string }; finish_reason: FinishReason; logprobs: Logprobs | null }>;
  usage: Usage;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{ index: 0; delta: { role?: 'assistant'; content?: string }; finish_reason: FinishReason | null; logprobs: Logprobs | null }>;
  /** On the last chunk only. */
  usage?: Usage;
}

export interface Completion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: Array<{ index: 0; text: string; finish_reason: FinishReason | null; logprobs: Logprobs | null }>;
  usage?: Usage;
}

export interface LoadProgress {
  /** `compile` (kernels, when a new GPU device is set up, e.g. after a device loss), then `download`, `cache` (Cache Storage) or `read` (File/stream). */
  phase: 'compile' | 'download' | 'cache' | 'read';
  bytesPerSecond: number;
}

export interface LoadOptions {
  /** Bytes go into GPU buffers as they arrive: `bytesDone` counts both. */
  onProgress?: (bytesDone: number, total: number, info: LoadProgress) => void;
  signal?: AbortSignal;
  /** Keep the file(s) in Cache Storage: a later load fetches nothing. */
  cache?: boolean;
  /** `sha256-BASE64` or 64 hex digits; one per file of a split model. */
  integrity?: string | string[];
  /** Bytes of a ReadableStream source. */
  size?: number;
  /** Tokens of K/V cache (default 4096). */
  contextLength?: number;
  /** When the context is full, drop its oldest half (keeping the system prompt) instead of stopping. */
  contextShift?: boolean;
  /** How the K/V cache stores keys and values: `'f16'` (default: half the memory) or `'f32'`. */
  kvCache?: 'f16' | 'f32';
}

export type ModelSource = string | URL | Blob | ReadableStream<Uint8Array> | Array<string | URL | Blob>;

export interface ModelSummary {
  id: string;
  name: string;
  architecture: string;
  contextLength: number;
  bytes: number;
  weightBytes: number;
  nLayer: number;
  nEmbd: number;
  nVocab: number;
  types: Record<string, number>;
}

export interface GpuInfo {
  /** One line: adapter, backend, limits and what brasa uses. */
  description: string;
  backend: string;
  adapter: { name: string; vendor: number; device: number; driver: string };
  /** The device features brasa enabled (wgpu names, lower case). */
  features: string[];
  limits: {
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
    maxComputeWorkgroupStorageSize: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxComputeWorkgroupsPerDimension: number;
  };
  /** Largest buffer of one weight tensor's part (tensors are split by rows below it). */
  maxWeightPartBytes: number;
  /**
   * The kernel variants chosen for this device: subgroup reductions where the device has
   * `subgroups` (in the browser brasa requests it itself: Chromium offers it, Firefox does not),
   * else workgroup-memory ones; shader-f16 enabled; the prefill mat-mul's tiles in workgroup
   * memory on a GPU, in registers on a CPU emulator such as SwiftShader (`wgmatmul` /
   * `nowgmatmul` in `variants` force either), in f16 only when `variants` asks for `f16`.
   */
  variants: {
    reduction: 'subgroup' | 'workgroup';
    f16: boolean;
    matmul: 'registers' | 'workgroup' | 'workgroup-f16';
  };
  /** What the browser itself says about its adapter. */
  browserAdapter: { vendor: string; architecture: string; device: string; description: string } | null;
}

export interface Engine {
  /** The loaded model, or null. */
  readonly model: ModelSummary | null;
  readonly chat: {
    completions: {
      create(request: SamplingOptions & { messages: ChatMessage[]; stream?: false }): Promise<ChatCompletion>;
      create(request: SamplingOptions & { messages: ChatMessage[]; stream: true }): Promise<AsyncIterable<ChatCompletionChunk>>;
    };
  };
  readonly completions: {
    create(request: SamplingOptions & { prompt: string; stream?: false }): Promise<Completion>;
    create(request: SamplingOptions & { prompt: string; stream: true }): Promise<AsyncIterable<Completion>>;
  };
  gpuInfo(): Promise<GpuInfo>;
  load(source: ModelSource, options?: LoadOptions): Promise<ModelSummary>;
  unload(): Promise<void>;
  /**
   * A new session (K/V cache) with a copy of session `from`'s (default 0) cache and conversation;
   * resolves to its id for requests' `session`. Costs a second K/V cache until `dropSession`.
   */
  forkSession(from?: number): Promise<number>;
  /** Frees a session made by `forkSession`. */
  dropSession(id: number): Promise<void>;
  /**
   * For fault tests: destroys the GPU device now; a load or request in flight and the next
   * request reject with `device_lost`, and the next `load` starts on a new device.
   */
  loseDevice(): Promise<void>;
  terminate(): void;
}

/** Starts an engine, in a dedicated Worker unless `worker: false`. */
export function createEngine(options?: { worker?: boolean; maxBufferBytes?: number }): Promise<Engine>;

// ---- Will it fit? -------------------------------------------------------------------------

export interface ModelInspection {
  name: string;
  architecture: string;
  parameters: number;
  fileBytes: number;
  types: Record<string, number>;
  /** The model's trained context. */
  contextLength: number;
  nLayer: number;
  nEmbd: number;
  nVocab: number;
  weightBytes: number;
  kvCacheBytes: number;
  scratchBytes: number;
  totalBytes: number;
  largestBuffer: number;
  fits: boolean;
  reasons: string[];
  bytesFetched: number;
}

export function inspectModel(
  url: string | URL,
  options?: {
    contextLength?: number;
    kvCache?: 'f16' | 'f32';
    limits?: { maxStorageBufferBindingSize?: number; maxBufferSize?: number };
    memoryBudget?: number;
    signal?: AbortSignal;
  },
): Promise<ModelInspection>;

// ---- Cache --------------------------------------------------------------------------------

export const MODEL_CACHE: string;
export function listCachedModels(): Promise<Array<{ url: string; bytes: number }>>;
export function deleteCachedModel(url: string | URL): Promise<boolean>;

// ---- Prompt API facade ----------------------------------------------------------------------

export interface LanguageModelOptions {
  model: string;
  contextLength?: number;
  maxTokens?: number;
  cache?: boolean;
  worker?: boolean;
}
export function installLanguageModel(options: LanguageModelOptions): unknown;
export function languageModelClass(options: LanguageModelOptions): unknown;

// ---- The low-level layer (core.js) -------------------------------------------------------

export function initBrasa(): Promise<unknown>;
export function wasmMemoryBytes(): number;
/**
 * The GPU engine on this thread's adapter. `variants` restricts the kernel variants, e.g.
 * `'nosubgroups,nof16,nowgmatmul'` forces the baseline kernels, `'f16'` asks for the prefill
 * mat-mul's f16 tiles (where the device has `shader-f16`); by default the best the device offers
 * (subgroup reductions where the adapter has `subgroups`, as Chromium does). `maxBufferBytes`: the
 * largest single GPU buffer to ask for (default 1 GiB − 1 MiB; never more than the adapter allows).
 */
export function createGpuEngine(variants?: string, options?: { maxBufferBytes?: number }): Promise<GpuEngine>;
export function loadModel(
  engine: GpuEngine,
  source: ModelSource,
  options?: Pick<LoadOptions, 'onProgress' | 'signal' | 'cache' | 'integrity' | 'size'>,
): Promise<Model>;
export function splitUrls(url: string | URL): string[];
export function adapterInfo(): Promise<{ vendor: string; architecture: string; device: string; description: string } | null>;
