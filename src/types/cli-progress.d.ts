/**
 * The part of cli-progress 3.x that src/replay/display.ts uses. The package ships no types and @types/cli-progress
 * is not a dependency; this declares only what we call, so a wrong call is still a compile error.
 */
declare module 'cli-progress' {
  interface Options {
    format?: string;
    stream?: NodeJS.WritableStream;
    fps?: number;
    barsize?: number;
    hideCursor?: boolean;
    clearOnComplete?: boolean;
    stopOnComplete?: boolean;
    gracefulExit?: boolean;
    barCompleteChar?: string;
    barIncompleteChar?: string;
  }
  interface Preset {
    format: string;
    barCompleteChar: string;
    barIncompleteChar: string;
  }
  class SingleBar {
    constructor(options: Options, preset?: Preset);
    start(total: number, startValue: number, payload?: Record<string, unknown>): void;
    update(current: number, payload?: Record<string, unknown>): void;
    setTotal(total: number): void;
    stop(): void;
  }
  const cliProgress: {
    SingleBar: typeof SingleBar;
    Presets: { shades_classic: Preset; legacy: Preset; rect: Preset; shades_grey: Preset };
  };
  export default cliProgress;
}
