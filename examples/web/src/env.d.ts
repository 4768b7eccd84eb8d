/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** `true`: send document ids, not text, to a server with TRUSTED_DOCUMENTS. */
  readonly VITE_TRUSTED_DOCUMENTS?: string;
}
