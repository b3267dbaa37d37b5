/**
 * How the webgpu backend's main thread and its device thread (./device-worker.ts) talk. WebGPU only answers
 * asynchronously (mapAsync, requestAdapter), while ComputeBackend is synchronous: the main thread posts a request,
 * then sleeps in Atomics.wait on the status slot until the device thread, which owns the GPU device and runs its own
 * event loop, has finished and copied the results into the shared data buffer.
 */

/** Slots of the shared Int32Array `control`. */
export const STATUS = 0;
/** Bytes of the UTF-8 message (adapter info as JSON after init, or an error) in the shared `text` buffer. */
export const TEXT_LENGTH = 1;
export const CONTROL_SLOTS = 2;
export const TEXT_BYTES = 8192;

/** Values of control[STATUS]. */
export const PENDING = 0;
export const DONE = 1;
export const FAILED = 2;

export type KernelName = 'gemm' | 'cellForward' | 'cellBackward';

export interface InitData {
  control: SharedArrayBuffer;
  text: SharedArrayBuffer;
  /** file: URL of the `webgpu` package's entry module. */
  webgpuUrl: string;
}

/**
 * One kernel run: upload data[0, upload) into the device's work arena, dispatch `kernel` with `params` over `grid`
 * workgroups, then copy arena[readFrom, readFrom + readLength) back into data at the same place.
 */
export interface KernelRequest {
  kernel: KernelName;
  params: Uint32Array;
  grid: [number, number, number];
  upload: number;
  readFrom: number;
  readLength: number;
  /** The data buffer when it changed since the last request (it grows). */
  data?: SharedArrayBuffer;
}

/** What the device thread reports after init (text buffer, JSON). */
export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for a software rasteriser/compute adapter (lavapipe/llvmpipe, SwiftShader, WARP): 'auto' never picks one. */
  software: boolean;
  maxStorageBufferBindingSize: number;
}
