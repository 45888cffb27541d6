// What the worker and the pages share beyond the protocol's generated types
// (protocol.gen.d.ts): the globals the Go module and wasm_exec.js define.
// Type declarations only; nothing here ships as code.

/** wasm_exec.js's Go runtime. */
declare class Go {
  importObject: WebAssembly.Imports;
  run(instance: WebAssembly.Instance): Promise<void>;
}

interface Window {
  /** protocol.gen.js */
  DAVSYNC_PROTOCOL: DavsyncProtocol;
  /** Set by the Go module (wasm/main.go). */
  davsync: { call(method: string, params: string): Promise<string> };
  davsyncReady: (mainAt?: number) => void;
  davsyncOnStatus: (json: string) => void;
  davsyncMemory: WebAssembly.Memory;
  davsyncReadyAt: number;
  davsyncBootMs: number;
  davsyncBoot: { source: string; compileMs: number; instantiateMs: number; goInitMs: number; goMainMs: number; afterReadyMs: number };
  /** wasm-id.js, written by the build: the module's build id. */
  DAVSYNC_WASM_ID?: string;
}
