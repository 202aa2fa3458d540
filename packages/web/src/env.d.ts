/// <reference types="vite/client" />

declare module "virtual:shipped-models" {
  /** The shipped model folders the build serves at `models/<name>/<file>`. */
  const folders: readonly { name: string; files: readonly string[]; bytes: number }[];
  export default folders;
}

/** True in a build, which registers the service worker (vite.config.ts). */
declare const __SERVICE_WORKER__: boolean;
