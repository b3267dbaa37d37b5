/**
 * The compute backends' names, the one list of them: the config schema (`backend:`) and the CLI options validate
 * against it, and src/compute/select.ts maps each name to its loader (the compiler insists on one per name). It
 * lives in util/ because config/ and compute/ sit on the same layer and do not import each other.
 *
 * Order matters: 'auto' takes the first backend of this list that loads here, skipping those marked
 * not-for-auto in select.ts (and taking webgpu only on a hardware GPU adapter).
 */
export const BACKEND_NAMES = ['webgpu', 'native', 'wasm', 'reference', 'reference-f64'] as const;

/** A named backend. */
export type ConcreteBackendName = (typeof BACKEND_NAMES)[number];

/** What a config or an option may ask for: a backend, or 'auto'. */
export type BackendName = 'auto' | ConcreteBackendName;

/** Every accepted value of `backend:` / `--backend`, 'auto' first. */
export const BACKEND_CHOICES = ['auto', ...BACKEND_NAMES] as const satisfies readonly BackendName[];
